import v8 from 'node:v8';
import path from 'node:path';
import type { ChatHandler } from '../src/core/chat-handler';
import { eventLoopDelay, percentile, scrapeOnce, startBenchApp } from './bench-app';
import type { BenchReport } from './report';
import { SimulatorChild } from './simulator-child';
import { benchDatabase } from './storage.bench';

export interface SoakOptions {
  minutes: number;
  /** Events a second the simulator sends. */
  rate: number;
  /** A line every this many seconds. */
  sampleSeconds: number;
  /** `/metrics` scraped this often, as Prometheus would. */
  scrapeSeconds: number;
  databaseUrl: string;
  /** Write a V8 heap snapshot here after the first sample and at the end (bench/heap-summary reads them). */
  heapSnapshotDir: string | undefined;
}

const MB = 2 ** 20;

/**
 * The app as deployed on SQLite (durable inbox, encrypted stores, data lifecycle), fed a steady
 * `rate` of chat messages by the simulator in its own process (new visitors keep arriving), and
 * scraped every `scrapeSeconds`. Prints RSS, live heap and event-loop delay as it goes; the report
 * bounds RSS and its growth over the run.
 */
export async function soakBenchmark(opts: SoakOptions, line: (text: string) => void): Promise<BenchReport> {
  const sim = await SimulatorChild.start(1000);
  const db = await benchDatabase('sqlite', opts.databaseUrl);
  const storage = await db.open();
  let handled = 0;
  const handler: ChatHandler = {
    handle: () => {
      handled += 1;
      return Promise.resolve();
    },
  };
  const bench = await startBenchApp({
    storage,
    dataDir: db.dataDir,
    credentials: sim.credentials,
    handler,
    connections: 2,
    connect: true,
  });
  const seconds = Math.round(opts.minutes * 60);
  const started = Date.now();
  const samples: Array<{
    at: number;
    rss: number;
    heap: number;
    heapTotal: number;
    external: number;
    eld99: number;
    eldMax: number;
  }> = [];
  const scrapes: number[] = [];
  let windowScrapes: number[] = [];
  let eld = eventLoopDelay();
  const allEld = eventLoopDelay();
  let snapshots = 0;
  const snapshot = (): void => {
    if (!opts.heapSnapshotDir) return;
    const file = v8.writeHeapSnapshot(path.join(opts.heapSnapshotDir, `soak-${++snapshots}.heapsnapshot`));
    line(`  heap snapshot: ${file}`);
    // Writing the snapshot stops the world; that pause is not the app's.
    eld.reset();
    allEld.reset();
  };
  line(
    `soak: ${opts.rate} events/s for ${opts.minutes} min into the app on SQLite; a line every ${opts.sampleSeconds} s`,
  );
  line('     s   handled   RSS MB  heap used/total MB  external MB  loop p99 ms  loop max ms  scrape p99 ms');
  const sample = (): void => {
    const m = process.memoryUsage();
    const s = {
      at: (Date.now() - started) / 1000,
      rss: m.rss / MB,
      heap: m.heapUsed / MB,
      heapTotal: m.heapTotal / MB,
      external: m.external / MB,
      eld99: eld.ms(99),
      eldMax: eld.ms(100),
    };
    samples.push(s);
    line(
      `${s.at.toFixed(0).padStart(6)} ${String(handled).padStart(9)} ${s.rss.toFixed(0).padStart(8)} ${`${s.heap.toFixed(0)}/${s.heapTotal.toFixed(0)}`.padStart(19)} ${s.external.toFixed(0).padStart(12)} ${s.eld99.toFixed(1).padStart(12)} ${s.eldMax.toFixed(1).padStart(12)} ${percentile(windowScrapes, 99).toFixed(1).padStart(14)}`,
    );
    windowScrapes = [];
    eld.disable();
    eld = eventLoopDelay();
    if (samples.length === 1) snapshot();
  };
  const sampler = setInterval(sample, opts.sampleSeconds * 1000);
  let scraping = Promise.resolve();
  const scraper = setInterval(() => {
    scraping = scraping.then(async () => {
      const ms = await scrapeOnce(bench.url);
      scrapes.push(ms);
      windowScrapes.push(ms);
    });
  }, opts.scrapeSeconds * 1000);
  const { counters } = await sim.drive(opts.rate, seconds);
  clearInterval(scraper);
  clearInterval(sampler);
  await scraping;
  sample();
  allEld.disable();
  const loop = { p99: allEld.ms(99), max: allEld.ms(100) };
  snapshot();
  const deadline = Date.now() + 60_000;
  while (handled < opts.rate * seconds && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await bench.stop();
  await storage.close();
  await db.cleanup();
  await sim.stop();

  // The first minute (or first half of a short run) warms caches and the JIT up.
  const warm = samples.filter((s) => s.at >= Math.min(60, seconds / 2));
  const settled = warm.length > 0 ? warm : samples;
  const rss = settled.map((s) => s.rss);
  return {
    name: `soak (${opts.rate} events/s, ${opts.minutes} min, SQLite)`,
    rows: [
      { label: 'events sent', value: opts.rate * seconds },
      { label: 'events handled', value: handled },
      { label: 'events lost (expired unacknowledged)', value: counters.eventsExpired },
      { label: 'RSS after warm-up, min MB', value: Math.min(...rss) },
      { label: 'RSS after warm-up, max MB (target < 150)', value: Math.max(...rss) },
      {
        label: 'RSS at the end - lowest after warm-up, MB',
        value: (samples.at(-1)?.rss ?? NaN) - Math.min(...rss),
      },
      { label: 'RSS trend after warm-up, MB/min (flat: near 0)', value: slopePerMinute(settled) },
      { label: 'event-loop delay p99 over the run, ms (target < 20)', value: loop.p99 },
      { label: 'event-loop delay max over the run, ms', value: loop.max },
      {
        label: `scrape p99 over ${scrapes.length} scrapes, ms (target < 10)`,
        value: percentile(scrapes, 99),
      },
    ],
    notes: [
      `V8 flags: ${process.execArgv.join(' ') || '(none)'}`,
      'RSS of the one process that runs the app (the simulator has its own); loop delay sampled every 1 ms',
      ...(opts.heapSnapshotDir
        ? [
            'RSS after a heap snapshot is not the app’s: writing it takes ~100 MB of native memory that the allocator keeps (run without --heap-snapshots for RSS figures)',
          ]
        : []),
    ],
  };
}

/** Least-squares slope of RSS over time, in MB a minute. */
function slopePerMinute(points: Array<{ at: number; rss: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.at, 0) / n;
  const my = points.reduce((a, p) => a + p.rss, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.at - mx) * (p.rss - my), 0);
  const sxx = points.reduce((a, p) => a + (p.at - mx) ** 2, 0);
  return (sxy / sxx) * 60;
}
