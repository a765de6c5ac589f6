import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/logging/create-logger';
import type { RateLimits } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor, type GovernedCall } from '../../src/rate-limit/rate-governor';
import type { RateStore } from '../../src/rate-limit/rate-store';
import { RedisRateStore } from '../../src/rate-limit/redis-rate-store';
import { waitFor } from '../helpers/wait-for';

const limits: RateLimits = {
  perMethod: { 'team.info': 10, 'chat.postMessage': 100 },
  windowMs: 60_000,
  marginMs: 250,
  perConversation: { ratePerSec: 1, burst: 3 },
};

const governorOn = (store: RateStore) =>
  new RateGovernor({
    limits,
    store,
    maxQueuePerMethod: 100,
    deadlineMs: { reply: 5_000, background: 5_000 },
    logger: silentLogger(),
  });

const teamInfo: GovernedCall = { method: 'team.info', scope: 'team:T1', priority: 'background' };
const headers = (limit: number, remaining: number) =>
  new Headers({ 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(remaining) });
const limitOf = async (g: RateGovernor, method: string) =>
  (await g.snapshot()).find((s) => s.method === method)?.limit;

const stores: Array<[string, () => RateStore[]]> = [['in memory', () => [new MemoryRateStore()]]];
if (process.env.TEST_REDIS === '1') {
  stores.push([
    'in Redis',
    () => {
      const prefix = `test:${randomUUID()}:`;
      const url = process.env.TEST_REDIS_URL ?? '';
      return [new RedisRateStore(url, prefix), new RedisRateStore(url, prefix)];
    },
  ]);
}

describe.each(stores)('rate store %s', (_name, make) => {
  let made: RateStore[] = [];
  afterEach(async () => {
    await Promise.all(made.map((s) => s.close()));
  });

  it('a limit one instance learns from the headers, lowered or raised, is the one every instance plans with', async () => {
    made = make();
    const [a, b] = made.map(governorOn);
    const first = a ?? governorOn(new MemoryRateStore());
    const second = b ?? first;
    await second.run(teamInfo, () => Promise.resolve());
    await first.run(teamInfo, () => first.observeHeaders(teamInfo, headers(3, 1)));
    expect(await limitOf(second, 'team.info')).toBe(3);
    await first.run(teamInfo, () => first.observeHeaders(teamInfo, headers(40, 38)));
    expect(await limitOf(second, 'team.info')).toBe(40);
    // The other instance uses the raised limit at once: 20 more calls fit without waiting.
    const started = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => second.run(teamInfo, () => Promise.resolve())));
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('lets one call at a time go to a conversation, the next only after the answer to the one before', async () => {
    made = make();
    const [a, b] = made.map(governorOn);
    const first = a ?? governorOn(new MemoryRateStore());
    const second = b ?? first;
    const post: GovernedCall = {
      method: 'chat.postMessage',
      scope: 'team:T1',
      conversationId: 'C1',
      priority: 'reply',
    };
    const events: string[] = [];
    let answer: () => void = () => undefined;
    const slow = first.run(post, async () => {
      events.push('first sent');
      await new Promise<void>((resolve) => (answer = resolve));
      events.push('first answered');
    });
    await waitFor('the first call to leave', () => events.length === 1);
    const next = second.run(post, () => Promise.resolve(events.push('second sent')));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events).toEqual(['first sent']);
    answer();
    await Promise.all([slow, next]);
    expect(events).toEqual(['first sent', 'first answered', 'second sent']);
  });
});
