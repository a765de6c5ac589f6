import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CodedError } from '../errors';
import type { Sodium } from '../storage/crypto/sodium';

/** A signed document: the JSON text that was signed, its Ed25519 signature and the public key. */
export interface SignedDocument {
  document: string;
  signature: string;
  public_key: string;
}

/**
 * Signs erasure receipts and certificates of deletion with Ed25519 (libsodium crypto_sign).
 * The key lives outside the database (a file, 0600) so it survives termination erasure;
 * publish its public key (`npm run certify -- public-key`) to whoever checks the receipts.
 */
export class ReceiptSigner {
  private constructor(
    private readonly sodium: Sodium,
    private readonly secretKey: Uint8Array,
    readonly publicKey: Uint8Array,
  ) {}

  /** Loads the signing key from `file`, generating it (mode 0600) if it does not exist. */
  static fromFile(sodium: Sodium, file: string): ReceiptSigner {
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const pair = sodium.crypto_sign_keypair();
      writeFileSync(file, `${Buffer.from(pair.privateKey).toString('base64')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    }
    restrictMode(file);
    const secret = Buffer.from(readKeyFile(file).trim(), 'base64');
    if (secret.length !== sodium.crypto_sign_SECRETKEYBYTES) {
      throw new CodedError(
        'CONFIG_INVALID',
        `RECEIPT_SIGNING_KEY_FILE (${file}) does not hold an Ed25519 secret key (base64 of 64 bytes)`,
      );
    }
    return new ReceiptSigner(sodium, secret, secret.subarray(32));
  }

  sign(document: object): SignedDocument {
    const text = JSON.stringify(document);
    const signature = this.sodium.crypto_sign_detached(Buffer.from(text, 'utf8'), this.secretKey);
    return {
      document: text,
      signature: Buffer.from(signature).toString('base64'),
      public_key: Buffer.from(this.publicKey).toString('base64'),
    };
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    throw new CodedError(
      'CONFIG_INVALID',
      `RECEIPT_SIGNING_KEY_FILE (${file}) cannot be read by this process (uid ${process.getuid?.() ?? '?'}): make the file, and the folders above it, readable by that user.`,
      { cause: err },
    );
  }
}

/**
 * Owner-only (0600) where the app may change it. A file it may not change (a read-only Secret
 * mount, mode 0400 or 0440 with the pod's fsGroup) is accepted unless anyone at all can read it.
 */
function restrictMode(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EROFS' || code === 'EPERM') && (mode & 0o007) === 0) return;
    throw new CodedError(
      'CONFIG_INVALID',
      `RECEIPT_SIGNING_KEY_FILE (${file}) is readable by others (mode ${mode.toString(8)}) and cannot be made private (${code ?? 'error'}): mount it with mode 0400 or 0440.`,
      { cause: err },
    );
  }
}

/** Checks a signed document; with `expectedPublicKey`, also that it was signed by that key. */
export function verifySigned(
  sodium: Sodium,
  signed: SignedDocument,
  expectedPublicKey?: string,
): { valid: boolean; reason?: string } {
  if (
    typeof signed.document !== 'string' ||
    typeof signed.signature !== 'string' ||
    typeof signed.public_key !== 'string'
  ) {
    return { valid: false, reason: 'not a signed document (document, signature, public_key)' };
  }
  if (expectedPublicKey && expectedPublicKey.trim() !== signed.public_key)
    return { valid: false, reason: 'signed by a different key' };
  try {
    const ok = sodium.crypto_sign_verify_detached(
      Buffer.from(signed.signature, 'base64'),
      Buffer.from(signed.document, 'utf8'),
      Buffer.from(signed.public_key, 'base64'),
    );
    return ok ? { valid: true } : { valid: false, reason: 'signature does not match the document' };
  } catch (err) {
    return { valid: false, reason: `malformed signature or key: ${(err as Error).message}` };
  }
}
