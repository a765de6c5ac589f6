import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Simulator } from '@clickdesk-bot/sandbox';
import { FAST_SIMULATOR } from '../helpers/sandbox-pair';
import {
  liveEnv,
  report,
  spawnOutageApp,
  Traffic,
  untilReady,
  watchReadiness,
  type OutageApp,
} from '../helpers/outage-harness';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * SQLite on a 12 MB filesystem that fills up under traffic: /readyz says 503 with the reason while
 * nothing can be recorded, and 200 once there is room again, by itself; nothing is lost or
 * answered twice, and the database passes integrity_check.
 */
function mountProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  try {
    execFileSync('sh', ['-c', 'command -v mount && command -v umount'], { stdio: 'ignore' });
  } catch {
    return 'mount/umount are not installed';
  }
  return undefined;
}
const problem = mountProblem();
if (problem && process.env.CI) throw new Error(`the full-disk test must run under CI: ${problem}`);
if (problem) process.stderr.write(`skipping the SQLite full-disk test: ${problem}\n`);
const describeIf = problem ? describe.skip : describe;

/** Fills the filesystem of `dir` with one file until writes fail; returns its path. */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 512]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

describeIf('SQLite on a full disk', () => {
  let mountDir: string;
  let sim: Simulator;
  let app: OutageApp | undefined;

  beforeEach(async () => {
    mountDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mountDir]);
    sim = new Simulator({ ...FAST_SIMULATOR, ackTimeoutMs: 800, maxRetries: 10_000, agentJoinDelayMs: -1 });
    await sim.listen(0);
  });
  afterEach(async () => {
    app?.cleanup();
    app = undefined;
    await sim.close();
    execFileSync('umount', ['-l', mountDir]);
    rmSync(mountDir, { recursive: true, force: true });
  });

  it('says 503 with the reason while full, recovers by itself, loses nothing', async () => {
    app = spawnOutageApp(liveEnv(sim, { DATA_DIR: mountDir }));
    const url = await app.url;
    await untilReady(url);
    const traffic = new Traffic(sim);
    traffic.open(10);
    traffic.start(100);
    const watch = watchReadiness(url, 100);
    try {
      await sleep(1_000);
      const filler = fill(mountDir);
      const fullAt = Date.now();
      await waitFor(
        '/readyz 503 while the disk is full',
        () => watch.transitions.some((t) => t.status === 503),
        15_000,
        50,
      );
      const down = watch.transitions.find((t) => t.status === 503);
      await sleep(3_000);
      expect(app.alive()).toBe(true);
      unlinkSync(filler);
      const freedAt = Date.now();
      await waitFor(
        '/readyz 200 once there is room',
        () => watch.transitions.at(-1)?.status === 200 && watch.transitions.at(-1)!.at > freedAt,
        15_000,
        50,
      );
      traffic.stop();
      await waitFor('every message answered', () => traffic.tally().unanswered.length === 0, 30_000, 50);
      const answeredMs = Date.now() - freedAt;
      await sleep(1_000);
      const t = traffic.tally();
      report('sqlite disk full', {
        fullSeconds: (freedAt - fullAt) / 1000,
        sent: t.sent,
        answeredOnce: t.answeredOnce,
        twice: t.twice.length,
        unanswered: t.unanswered.length,
        allAnsweredMsAfterRoom: answeredMs,
        readyz: watch.transitions.map((x) => ({ status: x.status, atMs: x.at - fullAt, reasons: x.reasons })),
      });
      expect(down?.reasons.join(' ')).toMatch(/storage cannot commit \(.*(full|SQLITE_FULL)/i);
      expect(t.twice).toEqual([]);
      expect(t.unanswered).toEqual([]);
      expect(t.answeredOnce).toBe(t.sent);
      app.process.kill('SIGTERM');
      expect((await app.exited).code).toBe(0);
      const db = new Database(path.join(mountDir, 'clickdesk.db'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    } finally {
      watch.stop();
      traffic.stop();
    }
  }, 90_000);
});
