import { randomBytes } from 'node:crypto';
import { runFleetRollout } from '../helpers/fleet-rollout';
import { report } from '../helpers/outage-harness';
import { PrivateRedis } from '../helpers/private-services';
import { findTool } from '../helpers/require-tool';
import { adminQuery, TEST_DATABASE_URL } from '../helpers/storage-fixtures';

/**
 * Six instances of one app (RTM_CONNECTIONS=2: 12 links wanted against ClickDesk's cap of 10) on
 * one PostgreSQL and a Redis of the test's own, under visitor traffic, with a rolling restart of
 * three of them. Counted at the simulator: the fleet holds the cap, a restart costs at most the
 * stopping instance's links and only for seconds, the open budget is not spent at start-up, every
 * message is answered once, no 429.
 */
const { describeIf } = findTool('redis-server', 'apt-get install redis-server');
const withPg = process.env.TEST_PG === '1' ? describeIf : describe.skip;
if (process.env.TEST_PG !== '1')
  process.stderr.write('skipping the fleet rollout test: it needs the PostgreSQL of the test setup\n');

withPg('a fleet beyond the link cap through a rolling restart', () => {
  let redis: PrivateRedis;
  let database: string;

  beforeEach(async () => {
    redis = await PrivateRedis.create();
    database = `cdbs_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${database}`);
  });
  afterEach(async () => {
    await redis.kill();
    await adminQuery(`DROP DATABASE ${database} WITH (FORCE)`);
  });

  it('keeps at least 8 of 10 links, is back to 10 within 10 s of each restart, opens ≤ 20 a minute, answers each message once', async () => {
    const r = await runFleetRollout({
      databaseUrl: TEST_DATABASE_URL.replace(/\/[^/]*$/, `/${database}`),
      redisUrl: redis.url,
      instances: 6,
      connections: 2,
      cap: 10,
      conversations: 20,
      messagesPerConversation: 20,
      restarts: 3,
      restartEveryMs: 8_000,
      restartDelayMs: 2_000,
    });
    report('fleet rollout, 6 instances × 2 links, cap 10', { ...r });
    // Start-up opens only the links the cap allows: instances beyond it do not open.
    expect(r.opensAtStartup).toBe(10);
    // The two instances without a link are ready and say why.
    expect(r.noLinkByDesignReady).toBe(true);
    expect(r.minDeliverable).toBeGreaterThanOrEqual(8);
    expect(r.backToCapSeconds).toHaveLength(3);
    for (const s of r.backToCapSeconds) expect(s).toBeLessThanOrEqual(10);
    // A restart costs opens only where links are missing: the handed-over seats, not the start-up again.
    expect(r.maxOpensPerMinute).toBeLessThanOrEqual(20);
    expect(r.opensTotal).toBeLessThanOrEqual(10 + 3 * 2 + 2);
    expect(r.ratelimited).toBe(0);
    expect(r.twice).toBe(0);
    expect(r.unanswered).toBe(0);
    expect(r.answeredOnce).toBe(r.sent);
    expect(r.sent).toBe(400);
  }, 240_000);
});
