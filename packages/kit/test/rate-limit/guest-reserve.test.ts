import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/logging/create-logger';
import type { RateLimits } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor, type GovernedCall } from '../../src/rate-limit/rate-governor';
import type { RateStore } from '../../src/rate-limit/rate-store';
import { RedisRateStore } from '../../src/rate-limit/redis-rate-store';

const limits: RateLimits = {
  perMethod: { 'oauth.v2.access': 20 },
  windowMs: 60_000,
  marginMs: 250,
  perConversation: { ratePerSec: 1, burst: 3 },
};
const exchange: GovernedCall = { method: 'oauth.v2.access', scope: 'app', priority: 'guest' };
const refresh: GovernedCall = { method: 'oauth.v2.access', scope: 'app', priority: 'reply' };

const stores: Array<[string, () => RateStore[]]> = [['in memory', () => [new MemoryRateStore()]]];
if (process.env.TEST_REDIS === '1') {
  stores.push([
    'in Redis, two instances',
    () => {
      const prefix = `test:${randomUUID()}:`;
      const url = process.env.TEST_REDIS_URL ?? '';
      return [new RedisRateStore(url, prefix), new RedisRateStore(url, prefix)];
    },
  ]);
}

describe.each(stores)('guest calls and the reserve, rate store %s', (_name, make) => {
  let made: RateStore[] = [];
  let governors: RateGovernor[] = [];
  beforeEach(() => {
    made = make();
    governors = made.map(
      (store) =>
        new RateGovernor({
          limits,
          store,
          maxQueuePerMethod: 50,
          deadlineMs: { reply: 2_000, background: 2_000 },
          guest: { share: 0.5, maxQueue: 3, deadlineMs: 300 },
          logger: silentLogger(),
        }),
    );
  });
  afterEach(async () => {
    for (const g of governors) g.close();
    await Promise.all(made.map((s) => s.close()));
  });

  it('guest calls fill only their share of the window; refreshes still get every reserved permit', async () => {
    let sent = 0;
    for (let i = 0; i < 10; i++)
      sent += (await governors[i % governors.length]!.run(exchange, () => Promise.resolve(1))) ?? 0;
    expect(sent).toBe(10);
    // The share is spent: more guest calls wait their short deadline and are refused.
    const late = await Promise.all(
      governors.map((g) =>
        g.run(exchange, () => Promise.resolve('sent')).catch((e: { code: string }) => e.code),
      ),
    );
    expect(late).toEqual(governors.map(() => 'RATE_DEADLINE'));
    // The other half of the window is the reserve: ten refreshes go at once, on every instance.
    const refreshes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        governors[i % governors.length]!.run(refresh, () => Promise.resolve('refreshed')),
      ),
    );
    expect(refreshes).toEqual(Array(10).fill('refreshed'));
  });

  it('guest calls wait in a queue of their own: a flood of them never fills the queue refreshes wait in', async () => {
    const g = governors[0]!;
    // Spend the whole window with refreshes, so every later call waits.
    await Promise.all(Array.from({ length: 20 }, () => g.run(refresh, () => Promise.resolve(undefined))));
    const flood = Array.from({ length: 100 }, () =>
      g.run(exchange, () => Promise.resolve('sent')).catch((e: { code: string }) => e.code),
    );
    const waiting = g.run(refresh, () => Promise.resolve('refreshed')).catch((e: { code: string }) => e.code);
    expect(new Set(await Promise.all(flood))).toEqual(new Set(['RATE_QUEUE_FULL', 'RATE_DEADLINE']));
    // The refresh was queued, not refused for a full queue: it waits its own deadline (no room this window).
    expect(await waiting).toBe('RATE_DEADLINE');
  });
});
