/**
 * The Grafana dashboards of monitoring/grafana/dashboards/, as data. `npm run dashboards`
 * writes the JSON files from here; a test fails if the committed JSON drifts from it.
 * Queries may use Grafana's $__rate_interval, $__range and the $method variable only.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

interface Target {
  expr: string;
  legend?: string;
}
interface Panel {
  title: string;
  description: string;
  type: 'timeseries' | 'stat' | 'bargauge';
  unit?: string;
  max?: number;
  width?: number;
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  description: string;
  methodVariable: boolean;
  panels: Panel[];
}

const M = '{method=~"$method"}';

export const DASHBOARDS: Dashboard[] = [
  {
    uid: 'clickdesk-api-limits',
    title: 'ClickDesk · API volume against limits',
    description:
      'Web API calls per method against ClickDesk rate limits (Terms 4.9): volume, window use, throttling.',
    methodVariable: true,
    panels: [
      {
        title: 'Calls per minute against the limit, by method',
        description: 'Solid: calls sent. Dashed: the tier limit converted to calls per minute.',
        type: 'timeseries',
        unit: 'short',
        width: 24,
        targets: [
          {
            expr: `sum by (method) (rate(clickdesk_api_requests_total${M}[$__rate_interval])) * 60`,
            legend: '{{method}}',
          },
          {
            expr: `max by (method) (clickdesk_ratelimit_limit${M} * 60 / clickdesk_ratelimit_window_seconds${M})`,
            legend: '{{method}} limit',
          },
        ],
      },
      {
        title: 'Window utilisation',
        description:
          'Share of each sliding window in use; 1.0 is the limit. The governor never lets it pass 1.',
        type: 'bargauge',
        unit: 'percentunit',
        max: 1,
        targets: [{ expr: `max by (method) (clickdesk_ratelimit_utilization${M})`, legend: '{{method}}' }],
      },
      {
        title: '429s received (must stay 0)',
        description: 'ClickDesk refusals over the selected range. Any value here is a Terms 4.9 incident.',
        type: 'stat',
        unit: 'short',
        targets: [{ expr: `sum(increase(clickdesk_api_ratelimited_total${M}[$__range]))` }],
      },
      {
        title: 'Calls left in the window',
        description: 'The lowest remaining count across instances, per method.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `min by (method) (clickdesk_ratelimit_remaining${M})`, legend: '{{method}}' }],
      },
      {
        title: 'Throttle wait, p95',
        description: 'How long calls waited for capacity in the rate governor.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: `histogram_quantile(0.95, sum by (le, method) (rate(clickdesk_ratelimit_wait_seconds_bucket${M}[$__rate_interval])))`,
            legend: '{{method}}',
          },
        ],
      },
      {
        title: 'Calls waiting for capacity',
        description: 'Queue length per method; bounded by RATE_MAX_QUEUE.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (method) (clickdesk_ratelimit_queued_calls${M})`, legend: '{{method}}' }],
      },
      {
        title: 'Calls refused by the governor',
        description: 'queue_full: more demand than the queue holds; deadline: waited too long.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: `sum by (method, reason) (increase(clickdesk_ratelimit_refused_total${M}[$__rate_interval]))`,
            legend: '{{method}} {{reason}}',
          },
        ],
      },
      {
        title: 'Calls by outcome',
        description: 'ok, api_error, auth_error, ratelimited, network_error, bad_response.',
        type: 'timeseries',
        unit: 'reqps',
        targets: [
          {
            expr: `sum by (outcome) (rate(clickdesk_api_requests_total${M}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
      },
    ],
  },
  {
    uid: 'clickdesk-rtm',
    title: 'ClickDesk · connection health',
    description: 'RTM links: state, reconnects, events, duplicates and acknowledgement latency.',
    methodVariable: false,
    panels: [
      {
        title: 'Open RTM links',
        description: 'Across all instances. 0 means visitors get no answers.',
        type: 'stat',
        unit: 'short',
        targets: [{ expr: 'sum(clickdesk_rtm_connections)' }],
      },
      {
        title: 'Seconds since the last event',
        description: 'Long silence with open links is worth a look at busy times.',
        type: 'stat',
        unit: 's',
        targets: [{ expr: 'time() - max(clickdesk_rtm_last_event_timestamp_seconds)' }],
      },
      {
        title: 'Reconnects by reason',
        description:
          'warning and refresh_requested are planned; pong_timeout, stalled and closed_by_server are not.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: 'sum by (reason) (increase(clickdesk_rtm_reconnects_total[$__rate_interval]))',
            legend: '{{reason}}',
          },
        ],
      },
      {
        title: 'Events received by outcome',
        description:
          'recorded (new), duplicate (redelivery dropped), unmodelled (acknowledged, ignored), not_recorded (left for redelivery).',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: 'sum by (outcome) (rate(clickdesk_rtm_events_total[$__rate_interval]))',
            legend: '{{outcome}}',
          },
        ],
      },
      {
        title: 'Acknowledgement latency',
        description: 'Receipt to ack, recording included. ClickDesk redelivers after 3 s.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: 'histogram_quantile(0.5, sum by (le) (rate(clickdesk_rtm_ack_latency_seconds_bucket[$__rate_interval])))',
            legend: 'p50',
          },
          {
            expr: 'histogram_quantile(0.99, sum by (le) (rate(clickdesk_rtm_ack_latency_seconds_bucket[$__rate_interval])))',
            legend: 'p99',
          },
        ],
      },
      {
        title: 'Duplicates dropped and malformed frames',
        description: 'Redeliveries deduplicated, and frames that were not valid RTM.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: 'sum(increase(clickdesk_rtm_duplicates_dropped_total[$__rate_interval]))',
            legend: 'duplicates',
          },
          {
            expr: 'sum(increase(clickdesk_rtm_protocol_errors_total[$__rate_interval]))',
            legend: 'malformed',
          },
        ],
      },
    ],
  },
  {
    uid: 'clickdesk-bot',
    title: 'ClickDesk · the bot',
    description: 'Reply latency, handler outcomes, channel-policy blocks and the process.',
    methodVariable: false,
    panels: [
      {
        title: 'Bot reply latency',
        description:
          'From an event reaching the app to ClickDesk accepting the reply (rate-limit waits included).',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: 'histogram_quantile(0.5, sum by (le) (rate(clickdesk_bot_reply_latency_seconds_bucket[$__rate_interval])))',
            legend: 'p50',
          },
          {
            expr: 'histogram_quantile(0.95, sum by (le) (rate(clickdesk_bot_reply_latency_seconds_bucket[$__rate_interval])))',
            legend: 'p95',
          },
        ],
      },
      {
        title: 'Events handled by outcome',
        description: 'error: the handler threw; the event is still marked handled.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: 'sum by (outcome) (rate(clickdesk_handler_duration_seconds_count[$__rate_interval]))',
            legend: '{{outcome}}',
          },
        ],
      },
      {
        title: 'Messages blocked by the channel policy',
        description:
          'Terms 4.8: ads, impersonation, foreign links, contact leaks. Visitors got the fallback instead.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: 'sum by (rule) (increase(clickdesk_policy_blocked_messages_total[$__rate_interval]))',
            legend: '{{rule}}',
          },
        ],
      },
      {
        title: 'Resident memory',
        description: 'Per instance.',
        type: 'timeseries',
        unit: 'bytes',
        targets: [{ expr: 'process_resident_memory_bytes{job="clickdesk-bot"}', legend: '{{instance}}' }],
      },
      {
        title: 'Event-loop lag p99',
        description: 'Per instance; sustained lag delays acks and replies.',
        type: 'timeseries',
        unit: 's',
        targets: [{ expr: 'nodejs_eventloop_lag_p99_seconds{job="clickdesk-bot"}', legend: '{{instance}}' }],
      },
    ],
  },
  {
    uid: 'clickdesk-data-lifecycle',
    title: 'ClickDesk · data lifecycle',
    description:
      'Freshness of stored Data (Terms 6.1), deletion jobs (6.3, 6.4) and the encryption layer (6.2).',
    methodVariable: false,
    panels: [
      {
        title: 'Oldest confirmation of stored Data',
        description: 'Must stay under 24 h; the refresher keeps it near 13 h. Past 24 h records are dropped.',
        type: 'stat',
        unit: 's',
        targets: [{ expr: 'max(clickdesk_data_oldest_confirmation_age_seconds)' }],
      },
      {
        title: 'Deletion jobs pending',
        description: 'Recorded deletion webhooks not yet erased, and how long the oldest has waited.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          { expr: 'sum(clickdesk_lifecycle_jobs_pending)', legend: 'pending' },
          { expr: 'max(clickdesk_lifecycle_oldest_pending_age_seconds)', legend: 'oldest, s' },
        ],
      },
      {
        title: 'Erasure job duration, p95',
        description: 'From the job starting to its receipt, by event type.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: 'histogram_quantile(0.95, sum by (le, event) (rate(clickdesk_lifecycle_job_duration_seconds_bucket[$__rate_interval])))',
            legend: '{{event}}',
          },
        ],
      },
      {
        title: 'Records dropped by the freshness rules',
        description:
          'deleted_upstream: ClickDesk no longer has them; not_confirmed: not re-confirmed within 24 h.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          {
            expr: 'sum by (reason) (increase(clickdesk_freshness_dropped_records_total[$__rate_interval]))',
            legend: '{{reason}}',
          },
        ],
      },
      {
        title: 'Encryption operations',
        description:
          'encrypt, decrypt, wrap, unwrap and shred by outcome; any failure means tampering or a missing key.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          {
            expr: 'sum by (operation, outcome) (rate(clickdesk_crypto_operations_total[$__rate_interval]))',
            legend: '{{operation}} {{outcome}}',
          },
        ],
      },
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

export function toGrafanaJson(d: Dashboard): unknown {
  let x = 0;
  let y = 0;
  const panels = d.panels.map((p, i) => {
    const w = p.width ?? 12;
    if (x + w > 24) {
      x = 0;
      y += 8;
    }
    const gridPos = { x, y, w, h: 8 };
    x += w;
    return {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: {
        defaults: { unit: p.unit ?? 'short', ...(p.max === undefined ? {} : { min: 0, max: p.max }) },
        overrides: [],
      },
      options: p.type === 'timeseries' ? { legend: { displayMode: 'list', placement: 'bottom' } } : {},
      targets: p.targets.map((t, j) => ({
        datasource: DATASOURCE,
        expr: t.expr,
        legendFormat: t.legend ?? '__auto',
        refId: String.fromCharCode(65 + j),
      })),
    };
  });
  const variables: unknown[] = [
    {
      name: 'datasource',
      label: 'Prometheus',
      type: 'datasource',
      query: 'prometheus',
      current: {},
      hide: 0,
    },
  ];
  if (d.methodVariable) {
    variables.push({
      name: 'method',
      label: 'Method',
      type: 'query',
      datasource: DATASOURCE,
      query: { query: 'label_values(clickdesk_ratelimit_limit, method)', refId: 'methods' },
      definition: 'label_values(clickdesk_ratelimit_limit, method)',
      includeAll: true,
      multi: true,
      allValue: '.*',
      current: { text: 'All', value: '$__all' },
      refresh: 2,
      hide: 0,
    });
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['clickdesk'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: variables },
    annotations: { list: [] },
    panels,
  };
}

export function dashboardFile(d: Dashboard): string {
  return path.join(__dirname, '..', 'monitoring', 'grafana', 'dashboards', `${d.uid}.json`);
}

export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(toGrafanaJson(d), null, 2)}\n`;
}

if (require.main === module) {
  for (const d of DASHBOARDS) {
    writeFileSync(dashboardFile(d), renderDashboard(d));
    process.stdout.write(`wrote ${path.relative(process.cwd(), dashboardFile(d))}\n`);
  }
}
