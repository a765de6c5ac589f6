import { listGenerations } from '../storage/crypto/master-key-generations';
import type { SqlRunner } from '../storage/sql/sql-database';
import { layersOf, receiptDocumentOf } from './erasure-layers';

export interface KeyAgeSnapshot {
  /** How long the current master key has been in use. */
  currentAgeSeconds: number;
  maxAgeSeconds: number;
  /** Erasures whose copies (backups, archives) are still readable with a live master key. */
  erasuresAwaitingRetirement: number;
  /** Age of the oldest of those (0 when none). */
  oldestAwaitingRetirementSeconds: number;
}

/** For metrics: master-key age against MASTER_KEY_MAX_AGE_DAYS, and erasures not yet at layer (c). */
export async function keyAgeSnapshot(
  db: SqlRunner,
  currentId: string,
  maxAgeDays: number,
  now: number,
): Promise<KeyAgeSnapshot> {
  const generations = await listGenerations(db);
  const current = generations.find((g) => g.id === currentId);
  const receipts = await db.all<{ document: string; issued_at: number }>(
    'SELECT document, issued_at FROM receipts',
  );
  let awaiting = 0;
  let oldest = now;
  for (const r of receipts) {
    const layers = layersOf(receiptDocumentOf(r.document), generations);
    if (layers.waitingOn.length === 0) continue;
    awaiting += 1;
    oldest = Math.min(oldest, Number(r.issued_at));
  }
  return {
    currentAgeSeconds: current ? Math.max(0, (now - current.firstSeenAt) / 1000) : 0,
    maxAgeSeconds: maxAgeDays * 86_400,
    erasuresAwaitingRetirement: awaiting,
    oldestAwaitingRetirementSeconds: awaiting ? (now - oldest) / 1000 : 0,
  };
}
