import { CodedError } from '../../errors';
import type { SqlRunner } from '../sql/sql-database';
import type { MasterKeySet } from './master-keys';

/** One master key as the database knows it: when it was first used, and when it was retired. */
export interface MasterKeyGeneration {
  readonly id: string;
  readonly firstSeenAt: number;
  readonly retiredAt: number | undefined;
  /** Live data keys still wrapped under it. */
  readonly liveKeys: number;
}

/**
 * Records the configured master keys as generations (first use), and refuses a retired one as
 * the current key: a retired generation's key material is meant to be destroyed everywhere.
 */
export async function registerGenerations(db: SqlRunner, masters: MasterKeySet, now: number): Promise<void> {
  for (const m of [masters.current, ...masters.previous]) {
    await db.run(
      'INSERT INTO master_keys (master_key_id, first_seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
      [m.id, now],
    );
  }
  for (const [i, m] of [masters.current, ...masters.previous].entries()) {
    const [row] = await db.all<{ retired_at: number | null }>(
      'SELECT retired_at FROM master_keys WHERE master_key_id = ?',
      [m.id],
    );
    if (row?.retired_at == null) continue;
    const when = new Date(Number(row.retired_at)).toISOString();
    throw new CodedError(
      'MASTER_KEY_INVALID',
      i === 0
        ? `the configured master key ${m.id} was retired on ${when}: a retired key must not be used again. Generate a new one (npm run keys -- generate) and rotate onto it.`
        : `master key ${m.id} in MASTER_KEY_PREVIOUS was retired on ${when}: remove it from MASTER_KEY_PREVIOUS and destroy every copy of it (backups made before then stay readable with it).`,
    );
  }
}

export async function listGenerations(db: SqlRunner): Promise<MasterKeyGeneration[]> {
  const rows = await db.all<{
    master_key_id: string;
    first_seen_at: number;
    retired_at: number | null;
    live: number | null;
  }>(
    `SELECT g.master_key_id, g.first_seen_at, g.retired_at,
            (SELECT COUNT(*) FROM data_keys k WHERE k.master_key_id = g.master_key_id AND k.destroyed_at IS NULL) AS live
       FROM master_keys g ORDER BY g.first_seen_at, g.master_key_id`,
  );
  return rows.map((r) => ({
    id: r.master_key_id,
    firstSeenAt: Number(r.first_seen_at),
    retiredAt: r.retired_at == null ? undefined : Number(r.retired_at),
    liveKeys: Number(r.live ?? 0),
  }));
}

/** Generations not retired yet: copies of the database made now stay readable with any of them. */
export async function unretiredGenerations(db: SqlRunner): Promise<string[]> {
  const rows = await db.all<{ master_key_id: string }>(
    'SELECT master_key_id FROM master_keys WHERE retired_at IS NULL ORDER BY master_key_id',
  );
  return rows.map((r) => r.master_key_id);
}
