import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { silentLogger } from '../src/logging/create-logger';
import { AppMetrics } from '../src/metrics/app-metrics';
import { CONTRACT_LIMITS, type RateLimits } from '../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../src/rate-limit/memory-rate-store';
import { RateGovernor, type GovernedCall } from '../src/rate-limit/rate-governor';
import type { RateStore } from '../src/rate-limit/rate-store';
import { RedisRateStore } from '../src/rate-limit/redis-rate-store';
import { median, type BenchReport } from './report';

// Limits far above the load, so every call measures the governor's bookkeeping, never a wait.
const ROOMY: RateLimits = {
  ...CONTRACT_LIMITS,
  perMethod: { 'chat.postMessage': 1e9 },
  perConversation: { ratePerSec: 1e9, burst: 1e9 },
};

const governorOn = (store: RateStore): RateGovernor =>
  new RateGovernor({
    limits: ROOMY,
    store,
    maxQueuePerMethod: 1000,
    deadlineMs: { reply: 10_000, background: 10_000 },
    logger: silentLogger(),
  });

const send = (): Promise<number> => Promise.resolve(1);

async function perCall(calls: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / 1e3 / calls; // µs
}

const postTo = (i: number): GovernedCall => ({
  method: 'chat.postMessage',
  scope: 'team:T1',
  conversationId: `C${i % 100}`,
  priority: 'reply',
});

/**
 * The rate governor's cost per call, in memory and with Redis, against the same call made
 * without it (in memory) and against a bare Redis round trip (with Redis); and the cost of a
 * /metrics scrape against a registry holding only Node's default metrics.
 */
export async function governorBenchmark(
  opts: { calls: number; rounds: number; redisUrl: string | undefined },
  progress: (line: string) => void,
): Promise<BenchReport> {
  const bare: number[] = [];
  const memory: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    progress(`governor in memory, round ${r + 1}/${opts.rounds}`);
    bare.push(await perCall(opts.calls, () => send()));
    const g = governorOn(new MemoryRateStore());
    memory.push(await perCall(opts.calls, (i) => g.run(postTo(i), send)));
  }
  const rows: BenchReport['rows'] = [
    { label: 'direct call (baseline), µs/call', value: median(bare) },
    { label: 'through the governor, in memory, µs/call', value: median(memory) },
    { label: 'governor overhead in memory, µs/call (target < 20)', value: median(memory) - median(bare) },
  ];

  if (opts.redisUrl) {
    const ping: number[] = [];
    const shared: number[] = [];
    const redisCalls = Math.min(opts.calls, 5_000);
    const client = new Redis(opts.redisUrl);
    for (let r = 0; r < opts.rounds; r++) {
      progress(`governor with Redis, round ${r + 1}/${opts.rounds}`);
      ping.push(await perCall(redisCalls, () => client.ping()));
      const store = new RedisRateStore(opts.redisUrl, `bench:${randomUUID()}:`);
      const g = governorOn(store);
      shared.push(await perCall(redisCalls, (i) => g.run(postTo(i), send)));
      await store.close();
    }
    await client.quit();
    rows.push(
      { label: 'Redis PING round trip (baseline), µs', value: median(ping) },
      { label: 'through the governor, Redis, µs/call (target < 1000)', value: median(shared) },
      { label: 'ratio Redis governor / PING', value: median(shared) / median(ping), ratio: true },
    );
  }

  progress('/metrics scrape');
  const metrics = new AppMetrics();
  const g = governorOn(new MemoryRateStore());
  metrics.bindGovernor(g);
  for (let i = 0; i < 1000; i++) {
    await g.run(postTo(i), send);
    metrics.apiRequests.inc({ method: 'chat.postMessage', outcome: 'ok' });
    metrics.rtmAckLatency.observe(Math.random() / 10);
    metrics.botReplyLatency.observe(Math.random());
    metrics.handlerDuration.observe({ outcome: 'ok' }, Math.random() / 100);
  }
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const scrapes = 200;
  const baseScrape = await perCall(scrapes, () => defaults.metrics());
  const appScrape = await perCall(scrapes, () => metrics.registry.metrics());
  rows.push(
    { label: 'scrape, default Node metrics only (baseline), ms', value: baseScrape / 1000 },
    { label: "scrape, the app's registry, ms (target < 10)", value: appScrape / 1000 },
    { label: 'ratio app scrape / baseline', value: appScrape / baseScrape, ratio: true },
  );
  return {
    name: 'rate governor and metrics',
    rows,
    notes: [
      `${opts.calls} sequential calls per round, median of ${opts.rounds}; ${opts.redisUrl ? `Redis at ${opts.redisUrl}` : 'no Redis (set REDIS_URL)'}`,
    ],
  };
}
