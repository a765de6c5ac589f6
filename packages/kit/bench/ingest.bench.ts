import os from 'node:os';
import v8 from 'node:v8';
import { createBotApp } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import type { ChatHandler } from '../src/core/chat-handler';
import { silentLogger } from '../src/logging/create-logger';
import { connectBareClient } from './bare-ws-client';
import { median, type BenchReport } from './report';
import { SimulatorChild } from './simulator-child';
import { benchDatabase } from './storage.bench';
import { SIMULATOR_TEAM, storeHistory } from './stored-history';
import type { Storage } from '../src/storage/open-storage';

export interface IngestOptions {
  events: number;
  rounds: number;
  connections: number;
  conversations: number;
  /** Also measure with durable, encrypted recording on these databases. */
  durable: Array<'sqlite' | 'postgres'>;
  /**
   * Also measure each durable database with this many messages (and their handled inbox rows)
   * already stored, as after weeks of chat: its indexes are that large (0: skip).
   */
  stored: number;
  databaseUrl: string;
}

/**
 * Events/s from the simulator (its own process) through RTM to an acknowledgement: the full
 * gateway → inbox → dispatcher → handler path against a bare `ws` client that only acks.
 */
export async function ingestBenchmark(
  opts: IngestOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const sim = await SimulatorChild.start(1000);
  const baseline: number[] = [];
  const gateway: number[] = [];
  let peakRss = 0;
  let heapAtPeak = 0;
  let atPeak = { old: NaN, young: NaN, external: NaN };
  let rssAfterWarmup = 0;
  let handled = 0;
  let lost = 0;
  let heapGrowth = 0;
  /**
   * CPU µs per event, by variant: this process (every thread: the event loop, libuv's pool, the
   * checkpoint worker) from the first event until the last is handled, and the simulator's.
   */
  const cpu = new Map<string, { app: number[]; sim: number[] }>();
  /**
   * Events/s from the flood's start until the last event was handled (its effects committed):
   * what the app sustains, where the acknowledged rate measures intake only.
   */
  const handledRate = new Map<string, number[]>();
  const noteCpu = (variant: string, app: number, sim: number, count: number): void => {
    const entry = cpu.get(variant) ?? { app: [], sim: [] };
    entry.app.push(app / count);
    entry.sim.push(sim / count);
    cpu.set(variant, entry);
  };
  const handler: ChatHandler = {
    handle: () => {
      handled += 1;
      return Promise.resolve();
    },
  };

  const runBaseline = async (count: number): Promise<number> => {
    const close = await connectBareClient(sim.credentials, opts.connections);
    const before = process.cpuUsage();
    const { seconds, cpuMicros } = await sim.flood(count, opts.conversations);
    const used = process.cpuUsage(before);
    close();
    noteCpu('baseline', used.user + used.system, cpuMicros, count);
    return count / seconds;
  };
  const runGateway = async (count: number, storage?: Storage, variant = 'memory'): Promise<number> => {
    // Before the app exists: a forced full collection with its links open and a flood coming made
    // V8 promote the round's short-lived objects (0.6 MB per young collection against 3 KB).
    const heapBefore = storage ? NaN : liveHeap();
    const config = loadConfig({});
    const app = createBotApp({
      config: { ...config, rtm: { ...config.rtm, connections: opts.connections } },
      clickdesk: sim.credentials,
      logger: silentLogger(),
      handler,
      ...(storage && {
        inbox: storage.inbox,
        conversations: storage.conversations,
        messages: storage.messages,
        profiles: storage.profiles,
      }),
    });
    await app.start();
    while (app.gateway.openConnections < opts.connections) await new Promise((r) => setTimeout(r, 5));
    // Memory figures are for the in-memory inbox rounds (durable rounds hold database caches too).
    const sampler = storage
      ? undefined
      : setInterval(() => {
          const m = process.memoryUsage();
          if (m.rss <= peakRss) return;
          const space = (name: string): number =>
            v8.getHeapSpaceStatistics().find((x) => x.space_name === name)?.space_size ?? NaN;
          [peakRss, heapAtPeak] = [m.rss, m.heapTotal];
          atPeak = {
            old: space('old_space') + space('large_object_space'),
            young: space('new_space'),
            external: m.external,
          };
        }, 250);
    handled = 0;
    const before = process.cpuUsage();
    const started = performance.now();
    const { seconds, counters, cpuMicros } = await sim.flood(count, opts.conversations);
    clearInterval(sampler);
    if (!storage) heapGrowth = Math.max(heapGrowth, liveHeap() - heapBefore);
    lost += counters.eventsExpired;
    // Acks measure intake; with durable storage the handlers may still be catching up.
    const deadline = Date.now() + 300_000;
    while (handled < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    handledRate.set(variant, [
      ...(handledRate.get(variant) ?? []),
      count / ((performance.now() - started) / 1000),
    ]);
    const used = process.cpuUsage(before);
    noteCpu(variant, used.user + used.system, cpuMicros, count);
    await app.stop();
    if (handled !== count) throw new Error(`handled ${handled} of ${count} events`);
    return count / seconds;
  };

  progress('warming up');
  await runBaseline(5_000);
  await runGateway(5_000);
  rssAfterWarmup = process.memoryUsage().rss;
  cpu.clear(); // the warm-up's CPU is not a round's
  for (let r = 1; r <= opts.rounds; r++) {
    progress(`round ${r}/${opts.rounds}: bare ws client, ${opts.events} events`);
    baseline.push(await runBaseline(opts.events));
    progress(`round ${r}/${opts.rounds}: gateway + memory inbox, ${opts.events} events`);
    gateway.push(await runGateway(opts.events));
  }
  const durable: BenchReport['rows'] = [];
  const variants = opts.durable.flatMap((kind) => [
    { kind, stored: 0, name: kind },
    ...(opts.stored > 0
      ? [{ kind, stored: opts.stored, name: `${kind}, ${opts.stored.toLocaleString('en-US')} stored` }]
      : []),
  ]);
  for (const { kind, stored, name } of variants) {
    const rates: number[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      progress(`round ${r}/${opts.rounds}: gateway + durable encrypted ${name} inbox, ${opts.events} events`);
      const db = await benchDatabase(kind, opts.databaseUrl);
      const storage = await db.open();
      try {
        if (stored > 0) await storeHistory(storage, SIMULATOR_TEAM, stored, progress);
        rates.push(await runGateway(opts.events, storage, name));
      } finally {
        await storage.close();
        await db.cleanup();
      }
    }
    const target = kind === 'sqlite' ? 0.5 : 0.3;
    const used = cpu.get(name)!;
    const perEvent = median(used.app) + median(used.sim);
    durable.push(
      { label: `gateway + durable encrypted ${name} inbox, events/s`, value: median(rates) },
      {
        label: `ratio durable ${name} / baseline (target >= ${target})`,
        value: median(rates) / median(baseline),
        ratio: true,
      },
      {
        label: `  events/s until the last was handled (${name})`,
        value: median(handledRate.get(name)!),
      },
      { label: `CPU per event, app process (all threads) with ${name}, µs`, value: median(used.app) },
      { label: `CPU per event, simulator, with ${name}, µs`, value: median(used.sim) },
      {
        // At the target rate, app and simulator together would need this many cores' worth of CPU
        // (the database server's own, on PostgreSQL, comes on top).
        label: `cores needed at the target rate (${target} x baseline) at this CPU per event`,
        value: (perEvent * target * median(baseline)) / 1e6,
      },
    );
  }
  await sim.stop();

  const base = median(baseline);
  const gw = median(gateway);
  return {
    name: 'ingest',
    rows: [
      { label: 'bare ws client (baseline), events/s', value: base },
      { label: 'gateway + in-memory inbox, events/s', value: gw },
      { label: 'ratio gateway / baseline (target >= 0.5)', value: gw / base, ratio: true },
      { label: 'CPU per event, bare client process, µs', value: median(cpu.get('baseline')!.app) },
      {
        label: 'CPU per event, simulator serving the bare client, µs',
        value: median(cpu.get('baseline')!.sim),
      },
      {
        label: 'CPU per event, app process with the in-memory inbox, µs',
        value: median(cpu.get('memory')!.app),
      },
      ...durable,
      { label: 'app RSS after warm-up, MB', value: rssAfterWarmup / 2 ** 20 },
      {
        label: `app peak RSS through ${opts.events} events x ${opts.rounds}, MB (target < 150)`,
        value: peakRss / 2 ** 20,
      },
      { label: 'V8 heap (total) at that peak, MB', value: heapAtPeak / 2 ** 20 },
      { label: '  of which old generation (old + large objects), MB', value: atPeak.old / 2 ** 20 },
      { label: '  of which young generation, MB', value: atPeak.young / 2 ** 20 },
      { label: 'external memory (buffers, wasm) at that peak, MB', value: atPeak.external / 2 ** 20 },
      { label: 'live heap growth across a round (after GC), MB', value: heapGrowth / 2 ** 20 },
      { label: 'events lost (expired unacknowledged)', value: lost },
    ],
    notes: [
      `V8 flags: ${process.execArgv.join(' ') || '(none)'}`,
      `median of ${opts.rounds} interleaved rounds; ${opts.connections} RTM links; simulator window 1000 unacked`,
      `this machine: ${os.availableParallelism()} cores, shared by the app, the simulator and the database server`,
    ],
  };
}

/** Heap still reachable after a full collection (needs --expose-gc; NaN without it). */
function liveHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  return process.memoryUsage().heapUsed;
}
