import { createHash } from 'node:crypto';
import { listGenerations } from '../storage/crypto/master-key-generations';
import type { SqlDatabase } from '../storage/sql/sql-database';
import { appendAudit } from './audit-log';
import { layersOf, receiptDocumentOf } from './erasure-layers';
import type { ReceiptSigner, SignedDocument } from './receipt-signer';

export type RetireOutcome =
  | { status: 'retired'; retirement: SignedDocument; erasuresNowIrrecoverable: string[] }
  | { status: 'already_retired'; retiredAt: number }
  | { status: 'refused'; reason: string };

/**
 * Retires a master-key generation (erasure layer (c)): refused while it is the current key or
 * any live data key is still wrapped under it (run `keys rotate` first). Records, in one
 * transaction, the signed retirement statement and a hash-chained audit entry. What it cannot
 * do is destroy the key material: the operator does that (MASTER_KEY_PREVIOUS, key files, their
 * backups), and the statement says so.
 */
export async function retireGeneration(
  db: SqlDatabase,
  signer: ReceiptSigner,
  masterKeyId: string,
  currentId: string,
  now: number,
): Promise<RetireOutcome> {
  if (masterKeyId === currentId) {
    return {
      status: 'refused',
      reason: `${masterKeyId} is the current master key: generate a new one, rotate onto it (npm run keys -- rotate), then retire this one`,
    };
  }
  return db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(7236543)');
    const generations = await listGenerations(tx);
    const generation = generations.find((g) => g.id === masterKeyId);
    if (!generation) {
      return {
        status: 'refused',
        reason: `no master key ${masterKeyId} is known here; known: ${generations.map((g) => g.id).join(', ') || 'none'}`,
      };
    }
    if (generation.retiredAt !== undefined)
      return { status: 'already_retired', retiredAt: generation.retiredAt };
    if (generation.liveKeys > 0) {
      return {
        status: 'refused',
        reason: `${generation.liveKeys} data keys are still wrapped under ${masterKeyId}: run "npm run keys -- rotate" with it in MASTER_KEY_PREVIOUS first`,
      };
    }
    const after = generations.map((g) => (g.id === masterKeyId ? { ...g, retiredAt: now } : g));
    const receipts = await tx.all<{ document: string }>(
      'SELECT document FROM receipts ORDER BY issued_at, job_id',
    );
    const erasuresNowIrrecoverable = receipts
      .map((r) => receiptDocumentOf(r.document))
      .filter((doc) => {
        const before = layersOf(doc, generations);
        return before.waitingOn.includes(masterKeyId) && layersOf(doc, after).irrecoverableAt !== null;
      })
      .map((doc) => doc.job_id);
    const retirement = signer.sign({
      kind: 'clickdesk-bot-master-key-retirement',
      version: 1,
      master_key_id: masterKeyId,
      first_used_at: new Date(generation.firstSeenAt).toISOString(),
      retired_at: new Date(now).toISOString(),
      statement:
        'No live data key is wrapped under this master key any more. The operator retires it: its key material is to be destroyed wherever it is kept (MASTER_KEY_PREVIOUS, key files and their backups). From then on, copies of the database made while it was in use cannot be decrypted.',
      erasures_now_irrecoverable_from_copies: erasuresNowIrrecoverable,
    });
    await tx.run('UPDATE master_keys SET retired_at = ?, retirement = ? WHERE master_key_id = ?', [
      now,
      JSON.stringify(retirement),
      masterKeyId,
    ]);
    await appendAudit(
      tx,
      db.dialect,
      {
        action: 'master_key_retired',
        job_id: `retire:${masterKeyId}`,
        master_key_id: masterKeyId,
        erasures_now_irrecoverable: erasuresNowIrrecoverable.length,
        retirement_sha256: createHash('sha256').update(retirement.document).digest('hex'),
      },
      now,
    );
    return { status: 'retired', retirement, erasuresNowIrrecoverable };
  });
}
