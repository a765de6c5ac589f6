import { CodedError } from '../errors';
import type { SqlDatabase } from '../storage/sql/sql-database';

/**
 * Instances sharing a database must sign receipts with one key: a receipt is checked against the
 * one public key the operator published. The first instance registers its public key; one that
 * starts with another key (its own generated file, a stale Secret) refuses to start and says how
 * to fix it, instead of issuing receipts nobody can check.
 */
export async function checkSharedSigningKey(
  db: SqlDatabase,
  publicKey: Uint8Array,
  keyFile: string,
  now = Date.now(),
): Promise<'registered' | 'matches'> {
  const ours = Buffer.from(publicKey).toString('base64');
  const inserted = await db.write((tx) =>
    tx.run(
      'INSERT INTO receipt_signing_key (id, public_key, registered_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
      [ours, now],
    ),
  );
  const [row] = await db.all<{ public_key: string }>(
    'SELECT public_key FROM receipt_signing_key WHERE id = 1',
  );
  if (row?.public_key === ours) return inserted > 0 ? 'registered' : 'matches';
  throw new CodedError(
    'CONFIG_INVALID',
    `RECEIPT_SIGNING_KEY_FILE (${keyFile}) holds a receipt signing key other than the one the instances sharing this database registered ` +
      `(public key ${row?.public_key ?? '?'}; this file's is ${ours}). Give every instance the same key file ` +
      `(one Secret mounted in each), or, to rotate the key on purpose, see "Rotating secrets" in docs/deployment.md.`,
  );
}
