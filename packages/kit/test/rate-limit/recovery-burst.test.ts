import { randomUUID } from 'node:crypto';
import { ClickDeskWebApi } from '../../src/clickdesk/web-api-client';
import { silentLogger } from '../../src/logging/create-logger';
import type { RateLimits } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor } from '../../src/rate-limit/rate-governor';
import type { RateStore } from '../../src/rate-limit/rate-store';
import { RedisRateStore } from '../../src/rate-limit/redis-rate-store';
import { Simulator } from '@clickdesk-bot/sandbox';
import { sleep } from '../helpers/wait-for';

/**
 * Terms 4.9 when a recovery releases a backlog at once: 1,000 queued replies over 100
 * conversations, posted through the governor to the real simulator with the contract's
 * per-conversation rule (1 per second, burst 3). The network is made slow and uneven on
 * purpose (0–150 ms before a request leaves, 0–150 ms before its answer is read), so the time
 * a call is let go and the time the server counts it differ by far more than any fixed margin.
 * The simulator's own 429 counter must stay at 0.
 */
const WINDOW_MS = 2_000;
const POST_LIMIT = 300;
const CONVERSATIONS = 100;
const MESSAGES = 1_000;

const limits: RateLimits = {
  perMethod: { 'chat.postMessage': POST_LIMIT },
  windowMs: WINDOW_MS,
  marginMs: 0,
  perConversation: { ratePerSec: 1, burst: 3 },
};

const unevenFetch: typeof fetch = async (input, init) => {
  await sleep(Math.random() * 150);
  const response = await fetch(input, init);
  await sleep(Math.random() * 150);
  return response;
};

async function releaseBacklog(stores: RateStore[]): Promise<{ sim: Simulator; failures: unknown[] }> {
  const sim = new Simulator({
    windowMs: WINDOW_MS,
    limits: { 'chat.postMessage': POST_LIMIT },
    postMessagePerConversation: { ratePerSec: 1, burst: 3 },
    agentJoinDelayMs: -1,
  });
  await sim.listen(0);
  const { apiUrl, appToken, botToken } = sim.credentials();
  const clients = stores.map(
    (store) =>
      new ClickDeskWebApi({
        baseUrl: apiUrl,
        appToken,
        botTokenFor: () => botToken,
        review: (_team, _method, args) => args,
        governor: new RateGovernor({
          limits,
          store,
          maxQueuePerMethod: MESSAGES,
          deadlineMs: { reply: 60_000, background: 60_000 },
          maxRetries: 0,
          logger: silentLogger(),
        }),
        fetchImpl: unevenFetch,
      }),
  );
  const conversations = Array.from(
    { length: CONVERSATIONS },
    (_, i) => sim.world.startConversation(sim.team.id, `V${i}`).id,
  );
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: MESSAGES }, async (_, i) => {
      const client = clients[i % clients.length];
      const conversation = conversations[Math.floor(i / clients.length) % CONVERSATIONS] ?? '';
      await client?.postMessage(sim.team.id, conversation, `answer ${i}`).catch((err) => failures.push(err));
    }),
  );
  await sim.close();
  return { sim, failures };
}

describe('a recovery burst of 1,000 replies', () => {
  it('draws no 429 from the simulator through one instance', async () => {
    const { sim, failures } = await releaseBacklog([new MemoryRateStore()]);
    expect(failures).toEqual([]);
    expect(sim.counters.apiCalls['chat.postMessage']).toBe(MESSAGES);
    expect(sim.counters.ratelimited).toBe(0);
  }, 60_000);

  const withRedis = process.env.TEST_REDIS === '1' ? it : it.skip;
  withRedis(
    'draws no 429 from the simulator through two instances sharing Redis',
    async () => {
      const url = process.env.TEST_REDIS_URL ?? '';
      const prefix = `test:${randomUUID()}:`;
      const stores = [new RedisRateStore(url, prefix), new RedisRateStore(url, prefix)];
      try {
        const { sim, failures } = await releaseBacklog(stores);
        expect(failures).toEqual([]);
        expect(sim.counters.apiCalls['chat.postMessage']).toBe(MESSAGES);
        expect(sim.counters.ratelimited).toBe(0);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    },
    60_000,
  );
});
