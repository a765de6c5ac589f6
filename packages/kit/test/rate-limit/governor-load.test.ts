import { randomUUID } from 'node:crypto';
import type { BotApp } from '../../src/app';
import type { ChatHandler } from '../../src/core/chat-handler';
import { RedisRateStore } from '../../src/rate-limit/redis-rate-store';
import type { RateStore } from '../../src/rate-limit/rate-store';
import { Simulator } from '@clickdesk-bot/sandbox';
import { connectApp, FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { sleep } from '../helpers/wait-for';

/**
 * Terms 4.9 under load: visitors write ten times faster than chat.postMessage allows. The
 * simulator must send no 429, and the app must still use at least 90% of what the limit allows.
 */
const WINDOW_MS = 2_000;
const LIMIT = 20;
const WINDOWS = 3;
const MAX_QUEUE = 30;

const echo: ChatHandler = {
  async handle({ event }, ctx) {
    if (event.type === 'message' && event.sender.kind === 'visitor') await ctx.reply('Thanks, noted.');
  },
};

async function driveAtTenTimesTheLimit(instances: number, storeFor: (i: number) => RateStore | undefined) {
  const sim = new Simulator({
    ...FAST_SIMULATOR,
    ackTimeoutMs: 3_000,
    windowMs: WINDOW_MS,
    limits: { 'chat.postMessage': LIMIT },
    postMessagePerConversation: { ratePerSec: 100, burst: 100 },
    agentJoinDelayMs: -1,
  });
  await sim.listen(0);
  const apps: BotApp[] = [];
  for (let i = 0; i < instances; i++) {
    const store = storeFor(i);
    const { app } = await connectApp(sim, {
      handler: echo,
      app: { rateStore: store },
      config: {
        rate: {
          limits: {
            perMethod: { 'chat.postMessage': LIMIT },
            windowMs: WINDOW_MS,
            marginMs: 50,
            perConversation: { ratePerSec: 100, burst: 100 },
          },
          maxQueuePerMethod: MAX_QUEUE,
          replyDeadlineMs: 30_000,
          backgroundDeadlineMs: 30_000,
          redisUrl: undefined,
        },
      },
    });
    apps.push(app);
  }
  const conversations = Array.from(
    { length: 20 },
    (_, i) => sim.world.startConversation(sim.team.id, `V${i}`).id,
  );
  sim.resetCounters();

  const samples: Array<{ utilization: number; queued: number }> = [];
  const sampler = setInterval(() => {
    void Promise.all(apps.map((a) => a.governor.snapshot())).then((snaps) => {
      for (const s of snaps.flat()) samples.push({ utilization: s.used / s.limit, queued: s.queued });
    });
  }, 25);

  const perWindow = LIMIT * 10;
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < WINDOW_MS * WINDOWS) {
    const due = Math.floor(((Date.now() - start) / WINDOW_MS) * perWindow);
    for (; sent < due; sent++)
      sim.visitorSays(conversations[sent % conversations.length] ?? '', `question ${sent}`);
    await sleep(5);
  }
  const callsMade = sim.counters.apiCalls['chat.postMessage'] ?? 0;
  clearInterval(sampler);
  for (const app of apps) await app.stop();
  await sim.close();
  return { callsMade, ratelimited: sim.counters.ratelimited, samples, offered: sent };
}

describe('rate governor under ten times the allowed load', () => {
  it('sends no 429-bound call, keeps its queue bounded, and uses at least 90% of the limit', async () => {
    const r = await driveAtTenTimesTheLimit(1, () => undefined);
    const allowed = LIMIT * WINDOWS;
    expect(r.offered).toBeGreaterThanOrEqual(allowed * 9);
    expect(r.ratelimited).toBe(0);
    expect(r.callsMade).toBeLessThanOrEqual(allowed);
    expect(r.callsMade).toBeGreaterThanOrEqual(Math.ceil(allowed * 0.9));
    expect(Math.max(...r.samples.map((s) => s.queued))).toBeLessThanOrEqual(MAX_QUEUE);
    expect(Math.max(...r.samples.map((s) => s.utilization))).toBeLessThanOrEqual(1);
    expect(Math.max(...r.samples.map((s) => s.utilization))).toBeGreaterThanOrEqual(0.9);
  }, 30_000);
});

const withRedis = process.env.TEST_REDIS === '1' ? describe : describe.skip;

withRedis('two instances sharing one budget in Redis', () => {
  it('together send no 429-bound call and use at least 90% of the limit', async () => {
    const url = process.env.TEST_REDIS_URL ?? '';
    const prefix = `test:${randomUUID()}:`;
    const stores = [new RedisRateStore(url, prefix), new RedisRateStore(url, prefix)];
    const r = await driveAtTenTimesTheLimit(2, (i) => stores[i]);
    await Promise.all(stores.map((s) => s.close()));
    const allowed = LIMIT * WINDOWS;
    expect(r.ratelimited).toBe(0);
    expect(r.callsMade).toBeLessThanOrEqual(allowed);
    expect(r.callsMade).toBeGreaterThanOrEqual(Math.ceil(allowed * 0.9));
    expect(Math.max(...r.samples.map((s) => s.queued))).toBeLessThanOrEqual(MAX_QUEUE);
    expect(Math.max(...r.samples.map((s) => s.utilization))).toBeLessThanOrEqual(1);
  }, 30_000);
});
