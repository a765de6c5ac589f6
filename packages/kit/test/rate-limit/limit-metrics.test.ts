import { silentLogger } from '../../src/logging/create-logger';
import { AppMetrics } from '../../src/metrics/app-metrics';
import { CONTRACT_LIMITS } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor, type GovernedCall } from '../../src/rate-limit/rate-governor';

const boundMetrics = () => {
  const metrics = new AppMetrics();
  const governor = new RateGovernor({
    limits: CONTRACT_LIMITS,
    store: new MemoryRateStore(),
    maxQueuePerMethod: 10,
    deadlineMs: { reply: 1_000, background: 1_000 },
    logger: silentLogger(),
  });
  metrics.bindGovernor(governor);
  return { metrics, governor };
};

const sample = (text: string, name: string, method: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{method="${method}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('rate-limit metrics', () => {
  it("publish every contract method's limit and planned ceiling, separately, before its first call", async () => {
    const { metrics } = boundMetrics();
    const text = await metrics.registry.metrics();
    for (const [method, limit] of Object.entries(CONTRACT_LIMITS.perMethod)) {
      expect(sample(text, 'clickdesk_ratelimit_limit', method)).toBe(limit);
      expect(sample(text, 'clickdesk_ratelimit_planned_limit', method)).toBeCloseTo((limit * 60) / 60.25, 6);
      expect(sample(text, 'clickdesk_ratelimit_utilization', method)).toBe(0);
    }
    expect(sample(text, 'clickdesk_ratelimit_limit', 'chat.postMessage')).toBe(600);
  });

  it('show utilisation above 1 when ClickDesk lowers a limit under calls already counted', async () => {
    const { metrics, governor } = boundMetrics();
    const call: GovernedCall = { method: 'team.info', scope: 'team:T1', priority: 'background' };
    for (let i = 0; i < 10; i++) await governor.run(call, () => Promise.resolve());
    await governor.run(call, () =>
      governor.observeHeaders(call, new Headers({ 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0' })),
    );
    const text = await metrics.registry.metrics();
    expect(sample(text, 'clickdesk_ratelimit_limit', 'team.info')).toBe(5);
    expect(sample(text, 'clickdesk_ratelimit_utilization', 'team.info')).toBeCloseTo(11 / 5, 6);
  });
});
