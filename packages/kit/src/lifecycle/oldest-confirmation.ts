import type { SqlDatabase } from '../storage/sql/sql-database';

/**
 * When ClickDesk last confirmed the least recently confirmed record the app holds (Terms 6.1),
 * read on every `/metrics` scrape. Each MIN is one step down an index of migration 6, so the
 * scrape costs the same with a thousand stored messages or a million; a test checks the plan.
 */
export const OLDEST_CONFIRMATION_SQL = `SELECT MIN(c) AS oldest FROM (
  SELECT MIN(confirmed_at) AS c FROM messages UNION ALL
  SELECT MIN(confirmed_at) FROM profiles UNION ALL
  SELECT MIN(confirmed_at) FROM conversations) t`;

export async function oldestConfirmation(db: SqlDatabase): Promise<number | undefined> {
  const [row] = await db.all<{ oldest: number | string | null }>(OLDEST_CONFIRMATION_SQL);
  return row?.oldest == null ? undefined : Number(row.oldest);
}
