import { GENERATE_HINT, secretStrengthProblem } from './secret-strength';

/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes (docs/clickdesk-contract.md §4). */
const PREFIX = 'whsec_';
/** Fewer key bytes than this is too weak to trust with erasure (Terms 8.1). */
export const MIN_SECRET_BYTES = 24;
/** Estimated entropy a key needs (secret-strength.ts). */
export const MIN_SECRET_BITS = 128;

/**
 * Why a webhook secret cannot be used, or undefined when it can. A weak secret would let anyone
 * who guesses it erase Data or stop the app (Terms 8.1), so start-up refuses it.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(PREFIX))
    return `must start with "${PREFIX}" (copy the signing secret from the app's settings)`;
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0)
    return `is not valid base64 after "${PREFIX}"`;
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES)
    return `holds ${key.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes`;
  if (key.every((b) => b === key[0])) return 'repeats a single byte (e.g. all zero); use random bytes';
  // Repeated patterns ("ab" × 16) and common words ("password" × 4) count for what they are.
  const problem = secretStrengthProblem(key, MIN_SECRET_BITS);
  if (problem) return problem.replace(GENERATE_HINT, 'use random bytes: whsec_ + `openssl rand -base64 32`');
  return undefined;
}
