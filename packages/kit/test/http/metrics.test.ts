import request from 'supertest';
import { createHttpApp } from '../../src/http/create-http-app';
import { createMetricsHttpApp } from '../../src/http/create-metrics-http-app';
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

describe('the METRICS_PORT server', () => {
  const metricsApp = () =>
    createMetricsHttpApp({
      logger: silentLogger(),
      router: metricsRouter(new AppMetrics().registry, 'a-long-metrics-token-123'),
    });

  it('sends the same security headers as the main server and hides the framework', async () => {
    const res = await request(metricsApp())
      .get('/metrics')
      .set('authorization', 'Bearer a-long-metrics-token-123');
    expect(res.status).toBe(200);
    const main = await request(appWith(undefined)).get('/metrics');
    for (const header of [
      'content-security-policy',
      'x-content-type-options',
      'strict-transport-security',
      'x-frame-options',
      'cross-origin-resource-policy',
      'referrer-policy',
    ]) {
      expect({ header, value: res.headers[header] }).toEqual({ header, value: main.headers[header] });
      expect(res.headers[header]).toBeDefined();
    }
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(metricsApp()).get('/');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.body).toMatchObject({ ok: false, error: 'not_found' });
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('still refuses /metrics without the token', async () => {
    expect((await request(metricsApp()).get('/metrics')).status).toBe(401);
  });
});
