import request from 'supertest';
import { createHttpApp } from '../../src/http/create-http-app';
import { metricsRouter } from '../../src/http/metrics-router';
import { silentLogger } from '../../src/logging/create-logger';
import { AppMetrics } from '../../src/metrics/app-metrics';

const appWith = (token: string | undefined) => {
  const metrics = new AppMetrics();
  return createHttpApp({
    logger: silentLogger(),
    readiness: () => ({ ready: true, detail: {} }),
    routers: [{ path: '/metrics', router: metricsRouter(metrics.registry, token) }],
  });
};

describe('GET /metrics', () => {
  it('serves the Prometheus text format with the policy counter initialised at 0', async () => {
    const res = await request(appWith(undefined)).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/^clickdesk_policy_blocked_messages_total\{rule="impersonation"\} 0$/m);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('refuses /metrics without the token when METRICS_TOKEN is set', async () => {
    const app = appWith('a-long-metrics-token-123');
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics').set('authorization', 'Bearer wrong')).status).toBe(401);
    const ok = await request(app).get('/metrics').set('authorization', 'Bearer a-long-metrics-token-123');
    expect(ok.status).toBe(200);
  });
});
