import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { SqliteDatabase } from '../src/storage/sql/sqlite-database';
import { ErasureWorker } from '../src/lifecycle/erasure-worker';
import { LifecycleJobs, type JobProgress } from '../src/lifecycle/lifecycle-jobs';
import { ReceiptSigner } from '../src/lifecycle/receipt-signer';
import { silentLogger } from '../src/logging/create-logger';
import { loadSodium } from '../src/storage/crypto/sodium';
import type { Storage } from '../src/storage/open-storage';
import type { ErasureScope } from '../src/lifecycle/lifecycle-event';
import { eventLoopDelay, percentile } from './bench-app';
import { benchDatabase } from './storage.bench';
import type { BenchReport } from './report';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Fills `count` message rows (ciphertext-sized random bodies) for one subject of one team, fast. */
export async function seed(
  storage: Storage,
  teamId: string,
  subjectRef: string,
  count: number,
  progress: (l: string) => void,
): Promise<void> {
  const { db } = storage.sql!;
  const now = Date.now();
  if (db.dialect === 'postgres') {
    await db.run(
      `INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at)
       SELECT 'Ev' || g || '-' || ?, ?, 'conv' || (g % 1000), ?, 'visitor', convert_to(repeat(md5(g::text), 6), 'UTF8'), ?, ?
       FROM generate_series(1, ?) AS g`,
      [subjectRef, teamId, subjectRef, now, now, count],
    );
    return;
  }
  const body = randomBytes(190);
  for (let base = 0; base < count; base += 100_000) {
    await db.transaction(async (tx) => {
      for (let i = base; i < Math.min(count, base + 100_000); i++) {
        await tx.run(
          'INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [`Ev${i}-${subjectRef}`, teamId, `conv${i % 1000}`, subjectRef, 'visitor', body, now, now],
        );
      }
    });
    if (count > 200_000) progress(`  seeded ${Math.min(count, base + 100_000)} of ${count}`);
  }
}

async function isDone(sql: NonNullable<Storage['sql']>): Promise<boolean> {
  const [row] = await sql.db.all<{ n: number }>(
    "SELECT COUNT(*) AS n FROM lifecycle_jobs WHERE state = 'done'",
  );
  return Number(row?.n) > 0;
}

/**
 * Time to erase a subject with `subjectMessages` messages and a team with `teamMessages`, on each
 * database: how soon after the job starts the Data is unreadable (data keys shredded), and how long
 * until every row is gone and the receipt is signed. A writer keeps storing another team's chat
 * messages meanwhile, to show the app keeps serving.
 */
export async function erasureBenchmark(
  opts: {
    kinds: Array<'sqlite' | 'postgres'>;
    subjectMessages: number;
    teamMessages: number;
    databaseUrl: string;
  },
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const sodium = await loadSodium();
  const signer = ReceiptSigner.fromFile(
    sodium,
    path.join(mkdtempSync(path.join(os.tmpdir(), 'sign-')), 'receipt.key'),
  );
  for (const kind of opts.kinds) {
    for (const [what, count] of [
      ['subject', opts.subjectMessages],
      ['team', opts.teamMessages],
    ] as const) {
      progress(`${kind}: seeding a ${what} with ${count} messages`);
      const bench = await benchDatabase(kind, opts.databaseUrl);
      const storage = await bench.open();
      try {
        const sql = storage.sql!;
        const subjectRef = sql.ctx.subjectRef('T-erase', { kind: 'visitor', id: 'V-erase' });
        await sql.ctx.keyOf('T-erase', subjectRef);
        await sql.ctx.keyOf('T-erase', undefined);
        await seed(storage, 'T-erase', subjectRef, count, progress);
        const jobs = new LifecycleJobs(sql.db);
        const scope: ErasureScope =
          what === 'subject'
            ? { kind: 'subject', teamId: 'T-erase', subjectKind: 'visitor', subjectRef }
            : { kind: 'team', teamId: 'T-erase' };
        await jobs.record(
          `bench-${what}`,
          what === 'subject' ? 'data_deletion.requested' : 'app.uninstalled',
          scope,
        );

        // Meanwhile, another team's chat keeps being stored (its key exists already, as for a running chat).
        await sql.ctx.keyOf('T-live', sql.ctx.subjectRef('T-live', { kind: 'visitor', id: 'V-live' }));
        let served = 0;
        // Split by what the erasure was doing when the write returned: not started yet (the chat
        // alone, what the machine's own noise gives), deleting rows, or purging.
        const worst = { alone: 0, deleting: 0, purging: 0 };
        let phase: keyof typeof worst = 'alone';
        let purgeStarted = false;
        let erasing = true;
        const chatter = (async () => {
          while (erasing) {
            const t = Date.now();
            await storage.messages.append({
              teamId: 'T-live',
              conversationId: 'C-live',
              eventId: `live-${served}`,
              subject: { kind: 'visitor', id: 'V-live' },
              sender: { kind: 'visitor', id: 'V-live' },
              text: 'still here',
              ts: String(served),
            });
            const waited = Date.now() - t;
            worst[phase] = Math.max(worst[phase], waited);
            served += 1;
          }
        })();
        // The same chat alone first: the event-loop delay the erasure is compared with.
        const alone = eventLoopDelay();
        await new Promise((r) => setTimeout(r, 2_000));
        alone.disable();
        progress(`${kind}: erasing the ${what}`);
        const batches: number[] = [];
        const batchRows: number[] = [];
        const worker = new ErasureWorker({
          ...sql,
          jobs,
          signer,
          logger: silentLogger(),
          afterBatch: (_job, batch) => {
            batches.push(batch.ms);
            batchRows.push(batch.rows);
            return Promise.resolve();
          },
        });
        // How long the event loop is held up, while rows are deleted and while the purge runs.
        const deleting = monitorEventLoopDelay({ resolution: 5 });
        const purging = monitorEventLoopDelay({ resolution: 5 });
        const purge = sql.db.purge.bind(sql.db);
        sql.db.purge = (tables, options) => {
          purgeStarted = true;
          phase = 'purging';
          deleting.disable();
          purging.enable();
          return purge(tables, options).finally(() => purging.disable());
        };
        // SQLite: a reader holds a snapshot for the first 2 s of the purge, so the WAL cannot be
        // emptied at once (the old synchronous checkpoint blocked the event loop for that long).
        const reader =
          kind === 'sqlite' ? new Database((sql.db as SqliteDatabase).file, { readonly: true }) : undefined;
        deleting.enable();
        phase = 'deleting';
        const started = Date.now();
        const loop = eventLoopDelay();
        const drained = worker.drain();
        if (reader) {
          while (!purgeStarted && !(await isDone(sql))) await new Promise((r) => setTimeout(r, 5));
          reader.exec('BEGIN');
          reader.prepare('SELECT COUNT(*) FROM data_keys').get();
          setTimeout(() => {
            reader.exec('COMMIT');
            reader.close();
          }, 2_000);
        }
        await drained;
        loop.disable();
        const seconds = (Date.now() - started) / 1000;
        const worstMs = Math.max(worst.deleting, worst.purging);
        deleting.disable();
        erasing = false;
        await chatter;
        const [job] = await sql.db.all<{ progress: string; started_at: number }>(
          'SELECT progress, started_at FROM lifecycle_jobs',
        );
        const p = JSON.parse(job!.progress) as JobProgress;
        if ((p.counts.messages ?? 0) !== count)
          throw new Error(`erased ${p.counts.messages} of ${count} messages`);
        const label = `${kind}: ${what} with ${count.toLocaleString('en-US')} messages`;
        rows.push(
          {
            label: `${label}, unreadable (keys shredded) after, ms (target < 10)`,
            value: (p.shreddedAt ?? 0) - job!.started_at,
          },
          {
            label: `${label}, fully erased in, s${kind === 'sqlite' ? (what === 'subject' ? ' (target < 2)' : ' (target < 60)') : ''}`,
            value: seconds,
          },
          {
            label: `${label}, purge from the engine (layer b) took, s${reader ? ' (a reader held the WAL for 2 s)' : ''}`,
            value: ((p.purgedAt ?? 0) - (p.deletedAt ?? 0)) / 1000,
          },
          {
            label: `${label}, event-loop delay while deleting rows, p99, ms`,
            value: deleting.percentile(99) / 1e6,
          },
          { label: `${label}, event-loop delay while deleting rows, max, ms`, value: deleting.max / 1e6 },
          {
            label: `${label}, event-loop delay during the purge, p99, ms`,
            value: purging.percentile(99) / 1e6,
          },
          { label: `${label}, event-loop delay during the purge, max, ms`, value: purging.max / 1e6 },
          { label: `${label}, other chat messages stored meanwhile`, value: served },
          { label: `${label}, worst wait of those, ms`, value: worstMs },
          { label: `${label}, worst wait of those while deleting rows, ms`, value: worst.deleting },
          { label: `${label}, worst wait of those during the purge, ms`, value: worst.purging },
          {
            label: `${label}, worst wait of the same chat alone (2 s before the erasure), ms`,
            value: worst.alone,
          },
          { label: `${label}, event-loop delay p99, ms (target < 20)`, value: loop.ms(99) },
          { label: `${label}, event-loop delay max, ms`, value: loop.ms(100) },
          {
            label: `${label}, the same chat alone (2 s before the erasure): event-loop delay p99, ms`,
            value: alone.ms(99),
          },
          {
            label: `${label}, event-loop delay p99 during the erasure / with the chat alone`,
            value: loop.ms(99) / alone.ms(99),
            ratio: true,
          },
          { label: `${label}, delete batches`, value: batches.length },
          { label: `${label}, delete batches: median rows`, value: percentile(batchRows, 50) },
          {
            label: `${label}, delete batches: time each held the loop, p99, ms`,
            value: percentile(batches, 99),
          },
          {
            label: `${label}, delete batches: time each held the loop, max, ms`,
            value: Math.max(...batches),
          },
        );
      } finally {
        await storage.close();
        await bench.cleanup();
      }
    }
  }
  return {
    name: 'erasure',
    rows,
    notes: [
      'rows seeded directly with ciphertext-sized bodies; erasure runs the real worker, batches sized by their measured rate: at most 2,000 rows holding the loop ~5 ms on SQLite, at most 50,000 rows taking ~100 ms on PostgreSQL, then the purge (SQLite: VACUUM and a WAL checkpoint, both in a worker thread while the app holds its own transactions back; PostgreSQL: VACUUM FULL + CHECKPOINT)',
      'event-loop delay while deleting / during the purge: perf_hooks.monitorEventLoopDelay (5 ms resolution)',
      'event-loop delay p99 / max over the whole job: sampled every 1 ms (includes that 1 ms)',
    ],
  };
}
