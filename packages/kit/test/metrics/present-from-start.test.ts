import request from 'supertest';
import { API_OUTCOMES } from '../../src/clickdesk/web-api-client';
import {
  CONTRACT_METHODS,
  HANDLER_OUTCOMES,
  LIFECYCLE_JOB_TYPES,
  POLICY_RULES,
  RECONNECT_REASONS,
} from '../../src/metrics/contract-series';
import { STATUS_CLASSES } from '../../src/metrics/http-metrics';
import { PRIORITIES } from '../../src/rate-limit/rate-governor';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';

/** `name{a="x",b="y"} value` lines of a scrape, as a map from series to value. */
function seriesOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] && m[3]) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

describe('a freshly started app’s /metrics', () => {
  let pair: LifecyclePair;
  beforeAll(async () => {
    pair = await startLifecyclePair('sqlite');
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it('lists every series a dashboard or alert names at 0 before its first event, so the first one moves rate()', async () => {
    const res = await request(pair.app.http).get('/metrics');
    expect(res.status).toBe(200);
    const series = seriesOf(res.text);
    const want: string[] = [];
    for (const reason of RECONNECT_REASONS) want.push(`clickdesk_rtm_reconnects_total${labels({ reason })}`);
    for (const method of CONTRACT_METHODS) {
      for (const outcome of API_OUTCOMES)
        want.push(`clickdesk_api_requests_total${labels({ method, outcome })}`);
      want.push(`clickdesk_api_ratelimited_total${labels({ method })}`);
      for (const reason of ['queue_full', 'deadline'])
        want.push(`clickdesk_ratelimit_refused_total${labels({ method, reason })}`);
      for (const priority of PRIORITIES)
        want.push(`clickdesk_ratelimit_wait_seconds_count${labels({ method, priority })}`);
    }
    for (const event of LIFECYCLE_JOB_TYPES) {
      want.push(`clickdesk_lifecycle_job_duration_seconds_count${labels({ event })}`);
      want.push(`clickdesk_lifecycle_job_duration_seconds_bucket${labels({ le: '+Inf', event })}`);
    }
    for (const outcome of HANDLER_OUTCOMES)
      want.push(`clickdesk_handler_duration_seconds_count${labels({ outcome })}`);
    for (const rule of POLICY_RULES) want.push(`clickdesk_policy_blocked_messages_total${labels({ rule })}`);
    for (const kind of ['event', 'effect'])
      want.push(`clickdesk_dead_letters_created_total${labels({ kind })}`);
    for (const reason of ['deleted_upstream', 'not_confirmed'])
      want.push(`clickdesk_freshness_dropped_records_total${labels({ reason })}`);
    for (const reason of ['other_app', 'unknown_team'])
      want.push(`clickdesk_webhooks_ignored_total${labels({ reason })}`);
    for (const status_class of STATUS_CLASSES)
      want.push(`clickdesk_http_requests_total${labels({ route: '/webhooks/clickdesk', status_class })}`);
    want.push(
      'clickdesk_outbox_retries_total',
      'clickdesk_rtm_protocol_errors_total',
      'clickdesk_bot_reply_latency_seconds_count',
      'clickdesk_rtm_ack_latency_seconds_count',
    );
    // Every contract value gives a series, 77 API outcomes by method among them.
    expect(want.length).toBeGreaterThan(150);
    expect(want.filter((s) => !series.has(s))).toEqual([]);
    // The start-up's own calls (apps.connections.open, auth.test) are counted; nothing else has happened.
    const started = /method="(apps\.connections\.open|auth\.test)"/;
    expect(want.filter((s) => !started.test(s) && series.get(s) !== 0)).toEqual([]);
  });

  it('publishes the rate queue capacity per method, so queued / capacity is how full it is', async () => {
    const series = seriesOf((await request(pair.app.http).get('/metrics')).text);
    for (const method of CONTRACT_METHODS) {
      const capacity = series.get(`clickdesk_ratelimit_queue_capacity${labels({ method })}`);
      expect({ method, capacity }).toEqual({ method, capacity: expect.any(Number) });
      expect(capacity).toBeGreaterThan(0);
      expect(series.get(`clickdesk_ratelimit_queued_calls${labels({ method })}`)).toBe(0);
    }
  });

  it('counts a rejected webhook delivery as a 4xx on /webhooks/clickdesk, and other paths under "other"', async () => {
    await request(pair.app.http).post('/webhooks/clickdesk').send({ type: 'data_deletion.requested' });
    await request(pair.app.http).get('/no/such/page/12345');
    const series = seriesOf((await request(pair.app.http).get('/metrics')).text);
    expect(
      series.get(
        `clickdesk_http_requests_total${labels({ route: '/webhooks/clickdesk', status_class: '4xx' })}`,
      ),
    ).toBe(1);
    expect(
      series.get(
        `clickdesk_http_requests_total${labels({ route: '/webhooks/clickdesk', status_class: '2xx' })}`,
      ),
    ).toBe(0);
    expect(
      series.get(`clickdesk_http_requests_total${labels({ route: 'other', status_class: '4xx' })}`),
    ).toBe(1);
    // The raw URL never becomes a label.
    expect([...series.keys()].filter((s) => s.includes('no/such'))).toEqual([]);
  });
});
