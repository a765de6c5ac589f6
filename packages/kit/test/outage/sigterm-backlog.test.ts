import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Simulator } from '@clickdesk-bot/sandbox';
import { FAST_SIMULATOR } from '../helpers/sandbox-pair';
import {
  liveEnv,
  report,
  spawnOutageApp,
  Traffic,
  untilReady,
  type OutageApp,
} from '../helpers/outage-harness';
import { adminQuery, STORAGE_KINDS, TEST_DATABASE_URL } from '../helpers/storage-fixtures';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * SIGTERM while hundreds of events wait for a slow bot: the stop leaves what it did not finish
 * recorded and leased for the next start, dead-letters nothing, and the next start answers all.
 */
describe.each(STORAGE_KINDS)('SIGTERM with a backlog (%s)', (kind) => {
  let sim: Simulator;
  let dataDir: string;
  let database: string | undefined;
  const apps: OutageApp[] = [];

  beforeEach(async () => {
    sim = new Simulator({ ...FAST_SIMULATOR, ackTimeoutMs: 800, maxRetries: 10_000, agentJoinDelayMs: -1 });
    await sim.listen(0);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-sigterm-'));
    if (kind === 'postgres') {
      database = `cdbs_${randomBytes(6).toString('hex')}`;
      await adminQuery(`CREATE DATABASE ${database}`);
    }
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) a.cleanup();
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (database) await adminQuery(`DROP DATABASE ${database} WITH (FORCE)`);
    database = undefined;
  });

  const deadLetters = async (): Promise<number> => {
    const sql = 'SELECT COUNT(*) AS n FROM inbox WHERE dead_at IS NOT NULL';
    if (kind === 'sqlite') {
      const db = new Database(path.join(dataDir, 'clickdesk.db'), { readonly: true });
      try {
        return Number((db.prepare(sql).get() as { n: number }).n);
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
    } finally {
      await client.end();
    }
  };
  const databaseUrl = (): string => TEST_DATABASE_URL.replace(/\/[^/]*$/, `/${database}`);

  it('dead-letters nothing because of the stop and answers everything after the restart', async () => {
    const env = liveEnv(sim, {
      DATA_DIR: dataDir,
      BOT_DELAY_MS: '1500',
      SHUTDOWN_TIMEOUT_MS: '500',
      INSTANCE_ID: 'sigterm-a',
      ...(kind === 'postgres' ? { DATABASE_URL: databaseUrl() } : {}),
    });
    const first = spawnOutageApp(env);
    apps.push(first);
    await untilReady(await first.url);
    const traffic = new Traffic(sim);
    traffic.open(100);
    traffic.send(500);
    await waitFor('a backlog recorded', () => sim.counters.eventsAcked >= 400, 20_000, 20);
    const answeredBeforeStop = traffic.tally().answeredOnce;
    first.process.kill('SIGTERM');
    const { code } = await first.exited;
    expect(code).toBe(0);
    const deadAfterStop = await deadLetters();

    const second = spawnOutageApp(env);
    apps.push(second);
    await second.url;
    const restartedAt = Date.now();
    await waitFor('every message answered', () => traffic.tally().unanswered.length === 0, 45_000, 50).catch(
      (err: Error) => {
        const t = traffic.tally();
        if (kind === 'sqlite') {
          const db = new Database(path.join(dataDir, 'clickdesk.db'), { readonly: true });
          process.stderr.write(
            JSON.stringify(
              db
                .prepare(
                  "SELECT state, tries, attempted_at IS NOT NULL AS attempted, lease_owner, last_error, COUNT(*) AS n FROM outbox WHERE state <> 'done' GROUP BY 1,2,3,4,5",
                )
                .all(),
            ) +
              JSON.stringify(
                db
                  .prepare(
                    'SELECT handled_at IS NOT NULL AS handled, dead_at IS NOT NULL AS dead, lease_owner, failures, COUNT(*) AS n FROM inbox GROUP BY 1,2,3,4',
                  )
                  .all(),
              ) +
              '\n',
          );
          db.close();
        }
        throw new Error(
          `${err.message}: ${t.unanswered.length} unanswered (${t.unanswered.slice(0, 5).join(', ')}); after the restart:\n${second.output().slice(-4000)}`,
        );
      },
    );
    const answeredMs = Date.now() - restartedAt;
    await sleep(1_000);
    const t = traffic.tally();
    report(`sigterm with a backlog (${kind})`, {
      sent: t.sent,
      answeredBeforeStop,
      deadLettersAfterStop: deadAfterStop,
      answeredOnce: t.answeredOnce,
      twice: t.twice.length,
      unanswered: t.unanswered.length,
      allAnsweredMsAfterRestart: answeredMs,
      stopLog: first
        .output()
        .split('\n')
        .filter((l) => /stopping|shutdown|stopped/.test(l))
        .map((l) => JSON.parse(l) as { msg: string; count?: number; pending?: number; drained?: boolean })
        .map(({ msg, count, pending, drained }) => ({ msg, count, pending, drained })),
    });
    expect(answeredBeforeStop).toBeLessThan(t.sent); // a backlog was there to strand
    // Handlers were still running at the deadline: storage closed under them, and they gave up cleanly.
    expect(first.output()).toMatch(/shutdown deadline passed with handlers still running/);
    expect(deadAfterStop).toBe(0);
    expect(first.output()).not.toMatch(
      /dead-lettered|could not dead-letter|event processing failed unexpectedly/,
    );
    expect(t.twice).toEqual([]);
    expect(t.unanswered).toEqual([]);
    expect(t.answeredOnce).toBe(t.sent);
    expect(await deadLetters()).toBe(0);
  }, 90_000);
});
