import { dashboard, J, stat, timeseries } from './kit';

export const dataLifecycle = dashboard({
  uid: 'clickdesk-data-lifecycle',
  title: 'ClickDesk · data lifecycle',
  description:
    'Freshness of stored Data (Terms 6.1), deletion jobs (6.3, 6.4) and the encryption layer (6.2).',
  methodVariable: false,
  panels: [
    {
      panel: stat({
        title: 'Oldest confirmation of stored Data',
        description: 'Must stay under 24 h; the refresher keeps it near 13 h. Past 24 h records are dropped.',
        unit: 's',
        queries: [{ expr: `max(clickdesk_data_oldest_confirmation_age_seconds${J})` }],
      }),
    },
    {
      panel: timeseries({
        title: 'Deletion jobs pending',
        description: 'Recorded deletion webhooks not yet erased, and how long the oldest has waited.',
        unit: 'short',
        queries: [
          { expr: `sum(clickdesk_lifecycle_jobs_pending${J})`, legend: 'pending' },
          { expr: `max(clickdesk_lifecycle_oldest_pending_age_seconds${J})`, legend: 'oldest, s' },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Erasure job duration, p95',
        description: 'From the job starting to its receipt, by event type.',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, event) (rate(clickdesk_lifecycle_job_duration_seconds_bucket${J}[$__rate_interval])))`,
            legend: '{{event}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Records dropped by the freshness rules',
        description:
          'deleted_upstream: ClickDesk no longer has them; not_confirmed: not re-confirmed within 24 h.',
        unit: 'short',
        queries: [
          {
            expr: `sum by (reason) (increase(clickdesk_freshness_dropped_records_total${J}[$__rate_interval]))`,
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
