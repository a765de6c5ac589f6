import { randomBytes } from 'node:crypto';
import { Simulator } from '@clickdesk-bot/sandbox';
import { FAST_SIMULATOR } from '../helpers/sandbox-pair';
import {
  liveEnv,
  readyz,
  report,
  spawnOutageApp,
  Traffic,
  untilReady,
  type OutageApp,
} from '../helpers/outage-harness';
import { PrivateRedis } from '../helpers/private-services';
import { findTool } from '../helpers/require-tool';
import { adminQuery, TEST_DATABASE_URL } from '../helpers/storage-fixtures';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * Redis (the shared rate budget) SIGKILLed under traffic with two instances on one PostgreSQL:
 * each plans with its share of every limit meanwhile, so replies go on (slower), with no 429 at
 * the simulator, and both return to the shared budget once Redis is back.
 */
const { describeIf } = findTool('redis-server', 'apt-get install redis-server');
const withPg = process.env.TEST_PG === '1' ? describeIf : describe.skip;
if (process.env.TEST_PG !== '1')
  process.stderr.write('skipping the Redis outage test: it needs the PostgreSQL of the test setup\n');

withPg('Redis outage with two instances', () => {
  let sim: Simulator;
  let redis: PrivateRedis;
  let database: string;
  const apps: OutageApp[] = [];

  beforeEach(async () => {
    sim = new Simulator({ ...FAST_SIMULATOR, ackTimeoutMs: 800, maxRetries: 10_000, agentJoinDelayMs: -1 });
    await sim.listen(0);
    redis = await PrivateRedis.create();
    database = `cdbs_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${database}`);
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) a.cleanup();
    await sim.close();
    await redis.kill();
    await adminQuery(`DROP DATABASE ${database} WITH (FORCE)`);
  });

  it('keeps replying during the outage, with 0 × 429, and returns to the shared budget', async () => {
    const env = liveEnv(sim, {
      DATABASE_URL: TEST_DATABASE_URL.replace(/\/[^/]*$/, `/${database}`),
      REDIS_URL: redis.url,
      RTM_CONNECTIONS: '1',
    });
    for (const id of ['redis-a', 'redis-b']) apps.push(spawnOutageApp({ ...env, INSTANCE_ID: id }));
    const urls = await Promise.all(apps.map((a) => a.url));
    await Promise.all(urls.map((u) => untilReady(u)));
    const traffic = new Traffic(sim);
    traffic.open(20);
    traffic.start(200); // 5 messages a second
    try {
      await sleep(2_000);
      const outageMs = 20_000;
      await redis.kill();
      const killedAt = Date.now();
      const repliesAtKill = traffic.replies();
      let fallbackSeen = false;
      while (Date.now() - killedAt < outageMs) {
        const states = await Promise.all(urls.map((u) => readyz(u)));
        if (
          states.every(
            (s) => s.status === 200 && (s.body.reasons ?? []).some((r) => /fallback active/.test(r)),
          )
        )
          fallbackSeen = true;
        await sleep(200);
      }
      const repliesDuringOutage = traffic.replies() - repliesAtKill;
      const sentDuringOutage = [...traffic.sentTimes().values()].filter(
        (at) => at >= killedAt && at < killedAt + outageMs,
      ).length;
      await redis.start();
      const backAt = Date.now();
      // Reachable again: the shared budget counts every call from now on (the local share holds
      // until the calls counted alone leave the window).
      await waitFor(
        'both instances reaching Redis again',
        () => apps.every((a) => /the shared rate store answers again/.test(a.output())),
        10_000,
        50,
      );
      const back = await Promise.all(urls.map((u) => readyz(u)));
      expect(back.map((b) => b.body.reasons?.join(' '))).toEqual([
        expect.stringMatching(/answers again/),
        expect.stringMatching(/answers again/),
      ]);
      await sleep(1_000);
      traffic.stop();
      await waitFor('every message answered', () => traffic.tally().unanswered.length === 0, 30_000, 50);
      const answeredMs = Date.now() - backAt;
      await sleep(1_000);
      const t = traffic.tally();
      report('redis outage, two instances', {
        outageSeconds: outageMs / 1000,
        sent: t.sent,
        sentDuringOutage,
        repliesDuringOutage,
        answeredOnce: t.answeredOnce,
        twice: t.twice.length,
        unanswered: t.unanswered.length,
        allAnsweredMsAfterRedisBack: answeredMs,
        ratelimited: sim.counters.ratelimited,
        fallbackSeenInReadyz: fallbackSeen,
      });
      expect(fallbackSeen).toBe(true);
      // Replies keep flowing on each instance's local share: most of what visitors sent meanwhile.
      expect(repliesDuringOutage).toBeGreaterThan(sentDuringOutage / 2);
      expect(sim.counters.ratelimited).toBe(0);
      expect(t.twice).toEqual([]);
      expect(t.unanswered).toEqual([]);
      expect(t.answeredOnce).toBe(t.sent);
      expect(apps.every((a) => a.alive())).toBe(true);
      for (const a of apps)
        expect(a.output()).toMatch(
          /the shared rate store \(Redis\) is unreachable: planning with 1\/2 of every limit/,
        );
    } finally {
      traffic.stop();
    }
  }, 120_000);
});
