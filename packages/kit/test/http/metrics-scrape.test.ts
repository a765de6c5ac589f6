import request from 'supertest';
import type { SqlDatabase } from '../../src/storage/sql/sql-database';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { fullScans } from '../helpers/full-scans';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';

/** Tables that grow with chat volume or over the app's life: a scrape may never walk them whole. */
const GROWING = ['messages', 'profiles', 'conversations', 'lifecycle_jobs', 'inbox', 'outbox'];

/** Fills the tables with enough rows that the planner prefers an index wherever one serves. */
async function seed(db: SqlDatabase, rows: number): Promise<void> {
  const now = Date.now();
  if (db.dialect === 'postgres') {
    await db.run(
      `INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at)
       SELECT 'Ev' || g, 'T1', 'c' || (g % 500), 's' || (g % 500), 'visitor', '\\x00'::bytea, ?::bigint - g, ?::bigint - g
       FROM generate_series(1, ?) AS g`,
      [now, now, rows],
    );
    await db.run(
      `INSERT INTO profiles (team_id, subject_ref, kind, body, confirmed_at)
       SELECT 'T1', 'p' || g, 'visitor', '\\x00'::bytea, ?::bigint - g FROM generate_series(1, ?) AS g`,
      [now, rows / 10],
    );
    await db.run(
      `INSERT INTO conversations (team_id, conversation_ref, visitor_ref, body, status, started_at, confirmed_at)
       SELECT 'T1', 'c' || g, 'p' || g, '\\x00'::bytea, 'open', ?::bigint - g, ?::bigint - g FROM generate_series(1, ?) AS g`,
      [now, now, rows / 10],
    );
    await db.run(
      `INSERT INTO lifecycle_jobs (job_id, webhook_id, type, created_at, state, progress)
       SELECT 'j' || g, 'w' || g, 'app.uninstalled', ?::bigint - g, 'done', '{}' FROM generate_series(1, ?) AS g`,
      [now, rows / 10],
    );
    await db.run(
      `INSERT INTO inbox (event_id, team_id, subject_ref, received_at, handled_at)
       SELECT 'Ev' || g, 'T1', 's' || (g % 500), ?::bigint - g, ?::bigint - g FROM generate_series(1, ?) AS g`,
      [now, now, rows],
    );
    await db.run(
      `INSERT INTO outbox (effect_id, event_id, team_id, subject_ref, lane, kind, payload, state, created_at, next_at)
       SELECT 'Ev' || g || '-0', 'Ev' || g, 'T1', 's' || (g % 500), 'c' || (g % 500), 'post', '\\x00'::bytea, 'pending', ?::bigint - g, ?::bigint
       FROM generate_series(1, ?) AS g`,
      [now, now, rows],
    );
    await db.run('ANALYZE');
    return;
  }
  await db.transaction(async (tx) => {
    for (let g = 1; g <= rows; g++) {
      await tx.run(
        'INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [`Ev${g}`, 'T1', `c${g % 500}`, `s${g % 500}`, 'visitor', Buffer.alloc(1), now - g, now - g],
      );
      await tx.run(
        'INSERT INTO inbox (event_id, team_id, subject_ref, received_at, handled_at) VALUES (?, ?, ?, ?, ?)',
        [`Ev${g}`, 'T1', `s${g % 500}`, now - g, now - g],
      );
      await tx.run(
        "INSERT INTO outbox (effect_id, event_id, team_id, subject_ref, lane, kind, payload, state, created_at, next_at) VALUES (?, ?, 'T1', ?, ?, 'post', ?, 'pending', ?, ?)",
        [`Ev${g}-0`, `Ev${g}`, `s${g % 500}`, `c${g % 500}`, Buffer.alloc(1), now - g, now],
      );
      if (g % 10 !== 0) continue;
      await tx.run(
        'INSERT INTO profiles (team_id, subject_ref, kind, body, confirmed_at) VALUES (?, ?, ?, ?, ?)',
        ['T1', `p${g}`, 'visitor', Buffer.alloc(1), now - g],
      );
      await tx.run(
        'INSERT INTO conversations (team_id, conversation_ref, visitor_ref, body, status, started_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['T1', `c${g}`, `p${g}`, Buffer.alloc(1), 'open', now - g, now - g],
      );
      await tx.run(
        "INSERT INTO lifecycle_jobs (job_id, webhook_id, type, created_at, state, progress) VALUES (?, ?, 'app.uninstalled', ?, 'done', '{}')",
        [`j${g}`, `w${g}`, now - g],
      );
    }
  });
  await db.run('ANALYZE');
}

/** Every statement one `/metrics` scrape sends to the database, with its parameters. */
async function statementsOfOneScrape(p: LifecyclePair): Promise<Array<{ sql: string; params: unknown[] }>> {
  const db = p.storage.sql!.db;
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  const all = jest.spyOn(db, 'all');
  const run = jest.spyOn(db, 'run');
  try {
    const res = await request(p.app.http).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^clickdesk_data_oldest_confirmation_age_seconds \d/m);
    for (const call of [...all.mock.calls, ...run.mock.calls])
      seen.push({ sql: call[0], params: [...(call[1] ?? [])] });
  } finally {
    all.mockRestore();
    run.mockRestore();
  }
  return seen;
}

describe.each(STORAGE_KINDS)('GET /metrics with stored data (%s)', (kind) => {
  let p: LifecyclePair;
  beforeAll(async () => {
    p = await startLifecyclePair(kind);
    await seed(p.storage.sql!.db, 20_000);
  });
  afterAll(() => p.stop());

  it('reads the database only through indexes: no statement of a scrape walks a growing table', async () => {
    const statements = await statementsOfOneScrape(p);
    // The three lifecycle gauges share one read: each statement runs once per scrape.
    const freshness = statements.filter((s) => /MIN\(confirmed_at\) AS c FROM messages/.test(s.sql));
    expect(freshness).toHaveLength(1);
    expect(statements.filter((s) => /COUNT\(\*\) AS n, MIN\(created_at\)/.test(s.sql))).toHaveLength(1);
    for (const { sql, params } of statements) {
      const scanned = (await fullScans(p.storage.sql!.db, sql, params)).filter((t) => GROWING.includes(t));
      expect({ sql, scanned }).toEqual({ sql, scanned: [] });
    }
  });

  it('reports the age of the least recently confirmed record among a table of 20,000', async () => {
    const res = await request(p.app.http).get('/metrics');
    const age = Number(/^clickdesk_data_oldest_confirmation_age_seconds (\S+)$/m.exec(res.text)?.[1]);
    // The oldest seeded message was confirmed 20,000 ms before seeding.
    expect(age).toBeGreaterThanOrEqual(20);
    expect(age).toBeLessThan(120);
  });
});
