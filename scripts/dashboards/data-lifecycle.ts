import { dashboard, J, stat, timeseries } from './kit';

const HOUR = 3600;

export const dataLifecycle = dashboard({
  uid: 'clickdesk-data-lifecycle',
  title: 'ClickDesk · data lifecycle',
  description:
    'Freshness of stored Data (Terms 6.1), deletion jobs and webhooks (6.3, 6.4) and the encryption layer (6.2).',
  methodVariable: false,
  panels: [
    {
      width: 6,
      panel: stat({
        title: 'Oldest confirmation of stored Data',
        description:
          'Must stay under 24 h (red); the refresher keeps it near 13 h. Orange past 20 h (ClickDeskDataFreshnessNear24h). Past 24 h records are dropped.',
        unit: 's',
        thresholds: [['green'], [20 * HOUR, 'orange'], [24 * HOUR, 'red']],
        queries: [{ expr: `max(clickdesk_data_oldest_confirmation_age_seconds${J})` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Deletion jobs pending',
        description: 'Recorded deletion requests not yet erased (a count; their age is on the next panel).',
        unit: 'short',
        thresholds: [['green'], [1, 'blue']],
        queries: [{ expr: `max(clickdesk_lifecycle_jobs_pending${J})` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Oldest deletion job',
        description:
          'How long the oldest unfinished job has waited. Red past an hour (ClickDeskDeletionBacklogAtRisk).',
        unit: 's',
        thresholds: [['green'], [600, 'orange'], [HOUR, 'red']],
        queries: [{ expr: `max(clickdesk_lifecycle_oldest_pending_age_seconds${J})` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Erasures awaiting key retirement',
        description:
          'Erasures whose pre-erasure copies (backups) stay readable until the master key that wrapped them is retired (a count).',
        unit: 'short',
        thresholds: [['green'], [1, 'orange']],
        queries: [{ expr: `max(clickdesk_erasures_awaiting_key_retirement${J})` }],
      }),
    },
    {
      panel: timeseries({
        title: 'Ages: oldest deletion job and oldest erasure awaiting key retirement',
        description:
          'Seconds. A deletion job should finish within minutes; an erasure waits for the next master-key retirement (at most MASTER_KEY_MAX_AGE_DAYS).',
        unit: 's',
        min: 0,
        queries: [
          { expr: `max(clickdesk_lifecycle_oldest_pending_age_seconds${J})`, legend: 'oldest deletion job' },
          {
            expr: `max(clickdesk_erasure_oldest_awaiting_key_retirement_seconds${J})`,
            legend: 'oldest erasure awaiting retirement',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Erasure job duration, p95',
        description:
          'From the job starting to its receipt, by job type, over 1 h: erasures are rare, so a short window would mostly be empty.',
        unit: 's',
        min: 0,
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, event) (rate(clickdesk_lifecycle_job_duration_seconds_bucket${J}[1h])))`,
            legend: '{{event}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Webhook deliveries by status, per 5 min',
        description:
          'Deliveries to /webhooks/clickdesk by status class (4xx: rejected — bad signature, stale timestamp, replay), and signed ' +
          'webhooks answered but not obeyed (other_app, unknown_team).',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (status_class) (increase(clickdesk_http_requests_total{job=~"$job", instance=~"$instance", route="/webhooks/clickdesk"}[5m]))`,
            legend: '{{status_class}}',
          },
          {
            expr: `sum by (reason) (increase(clickdesk_webhooks_ignored_total${J}[5m]))`,
            legend: 'ignored {{reason}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Records dropped by the freshness rules, per 5 min',
        description:
          'deleted_upstream: ClickDesk no longer has them; not_confirmed: not re-confirmed within 24 h.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (reason) (increase(clickdesk_freshness_dropped_records_total${J}[5m]))`,
            legend: '{{reason}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Encryption operations',
        description:
          'encrypt, decrypt, wrap, unwrap and shred by outcome; any failure means tampering or a missing key.',
        unit: 'ops',
        min: 0,
        queries: [
          {
            expr: `sum by (operation, outcome) (rate(clickdesk_crypto_operations_total${J}[$__rate_interval]))`,
            legend: '{{operation}} {{outcome}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Master-key age against MASTER_KEY_MAX_AGE_DAYS',
        description:
          'How long the current master key has been in use (solid) and the most it may be (dashed). Erasures stay ' +
          'recoverable from older backups until the key that wrapped them is retired: rotate before the lines meet.',
        unit: 's',
        min: 0,
        overrides: [
          {
            name: 'allowed',
            properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }],
          },
        ],
        queries: [
          { expr: `max(clickdesk_master_key_age_seconds${J})`, legend: 'age' },
          { expr: `min(clickdesk_master_key_max_age_seconds${J})`, legend: 'allowed' },
        ],
      }),
    },
  ],
});
