import { dashboard, J, stat, timeseries } from './kit';

/** The reply-latency objective of the alerts (rules/recording.yml): 99 % of replies within 5 s. */
const WITHIN_OBJECTIVE = (window: string) =>
  `sum(rate(clickdesk_bot_reply_latency_seconds_bucket{job=~"$job", instance=~"$instance", le="5"}[${window}])) / ` +
  `sum(rate(clickdesk_bot_reply_latency_seconds_count${J}[${window}]))`;

export const bot = dashboard({
  uid: 'clickdesk-bot',
  title: 'ClickDesk · the bot',
  description:
    'Reply latency against its objective, handler outcomes, retries, dead letters, channel-policy blocks, installations and HTTP.',
  methodVariable: false,
  panels: [
    {
      panel: timeseries({
        title: 'Bot reply latency',
        description:
          'From committing a reply to ClickDesk accepting it (rate-limit waits included). The dashed line is the objective: 5 s.',
        unit: 's',
        min: 0,
        thresholdLine: 5,
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
      width: 6,
      panel: stat({
        title: 'Replies within 5 s, last hour',
        description:
          'The reply-latency objective is 99 % within 5 s; under it the error budget burns (ClickDeskReplyLatencyBudgetBurn). No value: no reply in the hour.',
        unit: 'percentunit',
        thresholds: [['red'], [0.95, 'orange'], [0.99, 'green']],
        queries: [{ expr: WITHIN_OBJECTIVE('1h') }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Replies within 5 s, last 24 h',
        description: 'The same objective over a day.',
        unit: 'percentunit',
        thresholds: [['red'], [0.95, 'orange'], [0.99, 'green']],
        queries: [{ expr: WITHIN_OBJECTIVE('24h') }],
      }),
    },
    {
      panel: timeseries({
        title: 'Events handled by outcome',
        description:
          'ok; retry: the handler threw and the event waits for another attempt; dead_letter: it gave up.',
        unit: 'ops',
        min: 0,
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
        title: 'Handler duration, p95',
        description: 'Time to handle one event, by outcome.',
        unit: 's',
        min: 0,
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, outcome) (rate(clickdesk_handler_duration_seconds_bucket${J}[$__rate_interval])))`,
            legend: '{{outcome}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Retries, per 5 min',
        description:
          'Handler retries (the handler threw) and deliveries retried (ClickDesk failed transiently), over a fixed 5-minute window.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum(increase(clickdesk_handler_duration_seconds_count{job=~"$job", instance=~"$instance", outcome="retry"}[5m]))`,
            legend: 'handler retries',
          },
          { expr: `sum(increase(clickdesk_outbox_retries_total${J}[5m]))`, legend: 'deliveries retried' },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Dead letters',
        description:
          'Events and effects set aside for an operator after failing for good: waiting now (solid), and new ones ' +
          'per 5 minutes (bars). Handle them with npm run dead-letters.',
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
          { expr: `max by (kind) (clickdesk_dead_letters${J})`, legend: 'waiting {{kind}}' },
          {
            expr: `sum by (kind) (increase(clickdesk_dead_letters_created_total${J}[5m]))`,
            legend: 'new {{kind}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Messages blocked by the channel policy, per 5 min',
        description:
          'Terms 4.8: ads, impersonation, foreign links, contact leaks. Visitors got the fallback instead.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (rule) (increase(clickdesk_policy_blocked_messages_total${J}[5m]))`,
            legend: '{{rule}}',
          },
        ],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Installations',
        description:
          'Teams that have installed the app (multi-team setup; 0 with a single static bot token).',
        unit: 'short',
        thresholds: [['blue']],
        queries: [{ expr: `max(clickdesk_installations${J})` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Earliest bot token expiry',
        description:
          'Time until the first bot token expires; refreshes keep it above 10 minutes. Under 5 minutes refreshes are failing.',
        unit: 's',
        thresholds: [['red'], [300, 'orange'], [600, 'green']],
        queries: [{ expr: `min(clickdesk_token_earliest_expiry_seconds${J})` }],
      }),
    },
    {
      panel: timeseries({
        title: 'Token refreshes and events dropped, per 5 min',
        description:
          'Token refreshes by outcome (invalid_grant: ClickDesk revoked the installation), and events dropped because their team holds no installation.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (outcome) (increase(clickdesk_token_refreshes_total${J}[5m]))`,
            legend: 'refresh {{outcome}}',
          },
          {
            expr: `sum by (reason) (increase(clickdesk_events_dropped_total${J}[5m]))`,
            legend: 'dropped {{reason}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'HTTP requests by route and status',
        description:
          'Requests the app answered, by mount path and status class: 4xx on /webhooks/clickdesk are rejected deliveries.',
        unit: 'reqps',
        min: 0,
        queries: [
          {
            expr: `sum by (route, status_class) (rate(clickdesk_http_requests_total${J}[$__rate_interval]))`,
            legend: '{{route}} {{status_class}}',
          },
        ],
      }),
    },
  ],
});
