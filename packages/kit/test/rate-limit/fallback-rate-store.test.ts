import pino from 'pino';
import { bucketsFor, CONTRACT_LIMITS, windowFor, type WindowBucket } from '../../src/rate-limit/bucket-spec';
import { FallbackRateStore, type RateStoreMode } from '../../src/rate-limit/fallback-rate-store';
import { RedisRateStore } from '../../src/rate-limit/redis-rate-store';
import { PrivateRedis } from '../helpers/private-services';
import { findTool } from '../helpers/require-tool';
import { waitFor } from '../helpers/wait-for';

const { describeIf } = findTool('redis-server', 'apt-get install redis-server');

/** The shared budget in a Redis of the test's own, SIGKILLed and started again. */
describeIf('FallbackRateStore around a Redis that dies', () => {
  let redis: PrivateRedis;
  let store: FallbackRateStore;
  let clock: number;
  const modes: RateStoreMode[] = [];
  const limits = { ...CONTRACT_LIMITS, perMethod: { 'chat.postMessage': 10 } };
  // The method's window alone (a conversation's own bucket starts empty in a fallback: see below).
  const post = (_call: string) => bucketsFor(limits, { method: 'chat.postMessage', scope: 'T1' });
  const window = windowFor(limits, { method: 'chat.postMessage', scope: 'T1' }) as WindowBucket;

  beforeEach(async () => {
    redis = await PrivateRedis.create();
    clock = Date.now();
    modes.length = 0;
    store = new FallbackRateStore({
      shared: new RedisRateStore(redis.url, `t${Date.now()}:`),
      instances: 2,
      logger: pino({ level: 'silent' }),
      timeoutMs: 500,
      retryMs: 100,
      onModeChange: (m) => modes.push(m),
      now: () => clock,
    });
  });
  afterEach(async () => {
    await store.close();
    await redis.kill();
  });

  it('plans with half of each limit while Redis is down, then counts in both until the window has passed', async () => {
    // Three calls through Redis: this instance's own use of the window so far.
    for (const c of ['c1', 'c2', 'c3']) expect((await store.tryAcquire(post(c))).ok).toBe(true);
    expect(store.mode).toBe('shared');

    await redis.kill();
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await store.tryAcquire(post(`d${i}`))).ok) admitted += 1;
    expect(store.mode).toBe('fallback');
    expect(store.sharedReachable).toBe(false);
    // Half of 10, less the 3 this instance let go through Redis in the window already.
    expect(admitted).toBe(2);
    const refused = await store.tryAcquire(post('d-late'));
    expect(refused.ok).toBe(false);

    await redis.start();
    await waitFor('Redis answering again', () => store.mode === 'returning', 10_000, 20);
    expect(store.sharedReachable).toBe(true);
    // Still the local share, now also counted in Redis (a fresh Redis: it lost everything).
    expect((await store.tryAcquire(post('r1'))).ok).toBe(false);
    expect((await store.usage(window)).used).toBeGreaterThan(0);

    clock += window.windowMs + window.marginMs + 1;
    const after = await store.tryAcquire(post('s1'));
    expect(after.ok).toBe(true);
    expect(store.mode).toBe('shared');
    expect(modes).toEqual(['fallback', 'returning', 'shared']);
  }, 30_000);

  it("starts a conversation's own bucket empty in a fallback: another instance may just have spent it", async () => {
    await redis.kill();
    const buckets = bucketsFor(limits, { method: 'chat.postMessage', scope: 'T1', conversationId: 'c1' });
    const first = await store.tryAcquire(buckets);
    expect(first.ok).toBe(false);
    // 1 a second shared by 2 instances: the next call fits within 2 s.
    expect(first.ok === false && first.waitMs).toBeLessThanOrEqual(2_000);
  }, 30_000);
});
