import { dashboard, J, timeseries } from './kit';

export const bot = dashboard({
  uid: 'clickdesk-bot',
  title: 'ClickDesk · the bot',
  description: 'Reply latency, handler outcomes, dead letters, channel-policy blocks and the process.',
  methodVariable: false,
  panels: [
    {
      panel: timeseries({
        title: 'Bot reply latency',
        description:
          'From an event reaching the app to ClickDesk accepting the reply (rate-limit waits included).',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(clickdesk_bot_reply_latency_seconds_bucket${J}[$__rate_interval])))`,
            legend: 'p50',
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(clickdesk_bot_reply_latency_seconds_bucket${J}[$__rate_interval])))`,
            legend: 'p95',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Events handled by outcome',
        description: 'error: the handler threw.',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (outcome) (rate(clickdesk_handler_duration_seconds_count${J}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Dead letters',
        description:
          'Events and effects set aside for an operator after failing for good: waiting now (solid), and new ones ' +
          'per interval (bars). Handle them with npm run dead-letters.',
        unit: 'short',
        min: 0,
        overrides: [
          {
            regexp: '/^new /',
            properties: [
              { id: 'custom.drawStyle', value: 'bars' },
              { id: 'custom.fillOpacity', value: 60 },
            ],
          },
        ],
        queries: [
          { expr: `sum by (kind) (clickdesk_dead_letters${J})`, legend: 'waiting {{kind}}' },
          {
            expr: `sum by (kind) (increase(clickdesk_dead_letters_created_total${J}[$__rate_interval]))`,
            legend: 'new {{kind}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Messages blocked by the channel policy',
        description:
          'Terms 4.8: ads, impersonation, foreign links, contact leaks. Visitors got the fallback instead.',
        unit: 'short',
        queries: [
          {
            expr: `sum by (rule) (increase(clickdesk_policy_blocked_messages_total${J}[$__rate_interval]))`,
            legend: '{{rule}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Resident memory',
        description: 'Per instance.',
        unit: 'bytes',
        queries: [{ expr: `process_resident_memory_bytes${J}`, legend: '{{job}} {{instance}}' }],
      }),
    },
    {
      panel: timeseries({
        title: 'Event-loop lag p99',
        description: 'Per instance; sustained lag delays acks and replies.',
        unit: 's',
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds${J}`, legend: '{{job}} {{instance}}' }],
      }),
    },
  ],
});
