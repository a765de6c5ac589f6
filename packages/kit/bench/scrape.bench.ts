import os from 'node:os';
import { eventLoopDelay, percentile, scrapeOnce, startBenchApp } from './bench-app';
import { oldestConfirmation } from '../src/lifecycle/oldest-confirmation';
import { seed } from './erasure.bench';
import type { BenchReport } from './report';
import { benchDatabase } from './storage.bench';

export interface ScrapeOptions {
  kinds: Array<'sqlite' | 'postgres'>;
  /** Messages stored before the second series of scrapes. */
  storedMessages: number;
  scrapes: number;
  databaseUrl: string;
}

interface Series {
  p50: number;
  p99: number;
  /** CPU time this process spent per scrape: unlike latency, not inflated by other processes. */
  cpu: number;
  loop99: number;
}

/** Median of 10 timed calls, after one untimed. */
async function timedReads(read: () => Promise<unknown>): Promise<number> {
  await read();
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await read();
    times.push(performance.now() - t);
  }
  return percentile(times, 50);
}

const CREDENTIALS = { apiUrl: 'http://127.0.0.1:9/api/', appToken: 'xapp-bench', botToken: 'xoxb-bench' };

/**
 * `/metrics` over HTTP, back to back, on the app wired for SQL storage (so every gauge, the
 * freshness one included, reads the database, beside the scrape): with no stored messages (the
 * baseline), then with `storedMessages`; and, to show what migration 6 saves, the freshness read
 * itself with and without its index, and a few scrapes without it. The event-loop delay is
 * sampled during each series.
 */
export async function scrapeBenchmark(
  opts: ScrapeOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const n = opts.storedMessages.toLocaleString('en-US');
  for (const kind of opts.kinds) {
    const db = await benchDatabase(kind, opts.databaseUrl);
    const storage = await db.open();
    const bench = await startBenchApp({
      storage,
      dataDir: db.dataDir,
      credentials: CREDENTIALS,
      handler: { handle: () => Promise.resolve() },
      connections: 1,
      connect: false,
    });
    const series = async (count: number): Promise<Series> => {
      for (let i = 0; i < 10; i++) await scrapeOnce(bench.url);
      const loop = eventLoopDelay();
      const times: number[] = [];
      const cpu = process.cpuUsage();
      for (let i = 0; i < count; i++) times.push(await scrapeOnce(bench.url));
      const used = process.cpuUsage(cpu);
      loop.disable();
      return {
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        cpu: (used.user + used.system) / 1000 / count,
        loop99: loop.ms(99),
      };
    };
    try {
      progress(`${kind}: ${opts.scrapes} scrapes with no stored messages`);
      const empty = await series(opts.scrapes);
      progress(`${kind}: storing ${n} messages`);
      const sql = storage.sql!;
      await seed(
        storage,
        'T-scrape',
        sql.ctx.subjectRef('T-scrape', { kind: 'visitor', id: 'V1' }),
        opts.storedMessages,
        progress,
      );
      if (kind === 'postgres') await sql.db.run('ANALYZE');
      progress(`${kind}: ${opts.scrapes} scrapes with ${n} stored messages`);
      const full = await series(opts.scrapes);
      const indexedRead = await timedReads(() => oldestConfirmation(sql.db));
      progress(`${kind}: 20 scrapes without migration 6's index on messages.confirmed_at`);
      await sql.db.run('DROP INDEX messages_confirmed');
      const unindexedRead = await timedReads(() => oldestConfirmation(sql.db));
      const unindexed = await series(20);
      rows.push(
        { label: `${kind}: scrape p50, no stored messages (baseline), ms`, value: empty.p50 },
        { label: `${kind}:   p99`, value: empty.p99 },
        { label: `${kind}: scrape p50, ${n} stored messages, ms`, value: full.p50 },
        { label: `${kind}:   p99 (target < 10)`, value: full.p99 },
        { label: `${kind}:   ratio of p99s, ${n} / none`, value: full.p99 / empty.p99, ratio: true },
        { label: `${kind}:   CPU time per scrape (this process, client included), ms`, value: full.cpu },
        { label: `${kind}:   event-loop delay p99 during the scrapes, ms (target < 20)`, value: full.loop99 },
        { label: `${kind}: the freshness read (beside the scrape), p50, ms`, value: indexedRead },
        { label: `${kind}:   without the index (as before migration 6), p50, ms`, value: unindexedRead },
        { label: `${kind}:   scrape p50 meanwhile, ms`, value: unindexed.p50 },
        { label: `${kind}:   event-loop delay p99 during those scrapes, ms`, value: unindexed.loop99 },
      );
    } finally {
      await bench.stop();
      await storage.close();
      await db.cleanup();
    }
  }
  return {
    name: 'metrics scrape',
    rows,
    notes: [
      `load average during the run: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores (latency percentiles include waiting for a core)`,
      `${opts.scrapes} scrapes back to back over HTTP after 10 warm-up ones; event-loop delay sampled every 1 ms (includes that 1 ms)`,
      'the database gauges are read beside the scrape (at most once a second) and the scrape publishes the latest reading; the freshness read is timed on its own, 10 calls after one',
    ],
  };
}
