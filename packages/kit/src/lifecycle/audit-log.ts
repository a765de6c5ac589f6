import { createHash } from 'node:crypto';
import type { SqlRunner, SqlDatabase } from '../storage/sql/sql-database';

/**
 * Append-only, hash-chained log of data-lifecycle actions. Entries hold ids, counts and hashes,
 * never personal data: each hash covers the previous one, so removing or editing an entry breaks
 * every hash after it.
 */
export interface AuditEntry {
  action: string;
  job_id: string;
  [field: string]: unknown;
}

const GENESIS = '0'.repeat(64);

export async function appendAudit(
  tx: SqlRunner,
  dialect: SqlDatabase['dialect'],
  entry: AuditEntry,
  at: number,
): Promise<string> {
  if (dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(7236542)');
  const [last] = await tx.all<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const prev = last?.hash ?? GENESIS;
  const text = JSON.stringify({ at, ...entry });
  const hash = createHash('sha256').update(prev).update(text).digest('hex');
  await tx.run('INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES (?, ?, ?, ?, ?)', [
    Number(last?.seq ?? 0) + 1,
    at,
    text,
    prev,
    hash,
  ]);
  return hash;
}

/** Recomputes the chain; returns the head hash, or where it breaks. */
export async function verifyAudit(
  db: SqlRunner,
): Promise<{ valid: boolean; entries: number; head: string; brokenAt?: number }> {
  const rows = await db.all<{ seq: number; entry: string; prev_hash: string; hash: string }>(
    'SELECT seq, entry, prev_hash, hash FROM audit_log ORDER BY seq',
  );
  let prev = GENESIS;
  for (const row of rows) {
    const hash = createHash('sha256').update(prev).update(row.entry).digest('hex');
    if (row.prev_hash !== prev || row.hash !== hash)
      return { valid: false, entries: rows.length, head: prev, brokenAt: Number(row.seq) };
    prev = hash;
  }
  return { valid: true, entries: rows.length, head: prev };
}
