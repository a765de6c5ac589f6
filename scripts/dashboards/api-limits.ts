import type { DynamicConfigValue } from '@grafana/grafana-foundation-sdk/dashboard';
import { CONTRACT_LIMITS } from '../../packages/kit/src/rate-limit/bucket-spec';
import { dashboard, M, stat, timeseries } from './kit';

/** One colour per contract method, shared by its calls, its limit and its planned ceiling. */
const COLOURS = [
  'blue',
  'green',
  'orange',
  'purple',
  'yellow',
  'light-blue',
  'dark-green',
  'light-orange',
  'dark-purple',
  'super-light-yellow',
];
const METHODS = Object.keys(CONTRACT_LIMITS.perMethod);

const colour = (c: string): DynamicConfigValue => ({ id: 'color', value: { mode: 'fixed', fixedColor: c } });
const DASHED: DynamicConfigValue = { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } };
const DOTTED: DynamicConfigValue = { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } };
const THIN: DynamicConfigValue = { id: 'custom.lineWidth', value: 1 };

/**
 * Styles of the core panel: per method, calls solid, the limit dashed and the planned ceiling
 * dotted, all three in the method's colour; methods added later still get dashed/dotted lines.
 */
const limitOverrides = [
  { regexp: '/ limit$/', properties: [DASHED, THIN] },
  { regexp: '/ planned ceiling$/', properties: [DOTTED, THIN] },
  ...METHODS.flatMap((method, i) => {
    const c = colour(COLOURS[i % COLOURS.length] ?? 'blue');
    return [
      { name: method, properties: [c] },
      { name: `${method} limit`, properties: [c, DASHED, THIN] },
      { name: `${method} planned ceiling`, properties: [c, DOTTED, THIN] },
    ];
  }),
];

/** Every method the app limits: its limit series exists from the start, at 0 calls until the first. */
const everyMethod = `0 * max by (method) (clickdesk_ratelimit_limit${M})`;

export const apiLimits = dashboard({
  uid: 'clickdesk-api-limits',
  title: 'ClickDesk · API volume against limits',
  description:
    'Web API calls per method against ClickDesk rate limits (Terms 4.9): volume, window use, throttling. ' +
    "Limits apply per team: the budget panels show the busiest team's window, never a sum over teams.",
  methodVariable: true,
  panels: [
    {
      width: 24,
      panel: timeseries({
        title: "Busiest team's window against its limit, by method",
        description:
          "Solid: calls counted in the sliding window of the team (or app) that has used most of it. Dashed: that window's " +
          "limit (the contract's, or the one ClickDesk last reported). Dotted: the ceiling the governor plans for under it. " +
          'Limits are per team, so this is the budget that runs out first; every method is listed, at 0 until called.',
        unit: 'short',
        min: 0,
        overrides: limitOverrides,
        queries: [
          {
            expr: `max by (method) (clickdesk_ratelimit_utilization${M} * clickdesk_ratelimit_limit${M})`,
            legend: '{{method}}',
          },
          { expr: `min by (method) (clickdesk_ratelimit_limit${M})`, legend: '{{method}} limit' },
          {
            expr: `min by (method) (clickdesk_ratelimit_planned_limit${M})`,
            legend: '{{method}} planned ceiling',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Calls per minute, all teams, by method',
        description:
          'Calls sent, summed over every team and instance. Not comparable with a limit (limits are per team): see the panel above.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `(sum by (method) (rate(clickdesk_api_requests_total${M}[$__rate_interval])) * 60) or ${everyMethod}`,
            legend: '{{method}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Window utilisation',
        description:
          "The busiest team's calls in each sliding window over its limit; the dashed line is 100 %. It passes 100 % only when " +
          'ClickDesk lowers a limit under calls already made; the governor then waits until the window drains.',
        unit: 'percentunit',
        min: 0,
        thresholdLine: 1,
        queries: [{ expr: `max by (method) (clickdesk_ratelimit_utilization${M})`, legend: '{{method}}' }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: '429s received in the last hour (must stay 0)',
        description:
          'ClickDesk refusals over the last hour. Any value here is a Terms 4.9 incident (ClickDeskRateLimited).',
        unit: 'short',
        thresholds: [['green'], [1, 'red']],
        queries: [{ expr: `sum(increase(clickdesk_api_ratelimited_total${M}[1h]))` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Calls refused in the last hour',
        description:
          'Calls the rate governor refused (queue full or deadline). Replies refused are retried late.',
        unit: 'short',
        thresholds: [['green'], [1, 'orange']],
        queries: [{ expr: `sum(increase(clickdesk_ratelimit_refused_total${M}[1h]))` }],
      }),
    },
    {
      panel: timeseries({
        title: 'Calls left in the window',
        description: "The busiest team's remaining calls, per method (the lowest across instances).",
        unit: 'short',
        queries: [{ expr: `min by (method) (clickdesk_ratelimit_remaining${M})`, legend: '{{method}}' }],
      }),
    },
    {
      panel: timeseries({
        title: 'Window length',
        description: 'The sliding window each limit applies to.',
        unit: 's',
        min: 0,
        queries: [{ expr: `max by (method) (clickdesk_ratelimit_window_seconds${M})`, legend: '{{method}}' }],
      }),
    },
    {
      panel: timeseries({
        title: 'Throttle wait, p95',
        description: 'How long calls waited for capacity in the rate governor, by method and priority.',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, method, priority) (rate(clickdesk_ratelimit_wait_seconds_bucket${M}[$__rate_interval])))`,
            legend: '{{method}} {{priority}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Calls waiting for capacity',
        description: 'Queue length per method; bounded by RATE_MAX_QUEUE.',
        unit: 'short',
        queries: [{ expr: `sum by (method) (clickdesk_ratelimit_queued_calls${M})`, legend: '{{method}}' }],
      }),
    },
    {
      panel: timeseries({
        title: 'Rate queue, percent full',
        description:
          'Calls waiting over the queue capacity (RATE_MAX_QUEUE), per method, the fullest instance. At 100 % calls are refused; ' +
          'the dashed line is where ClickDeskRateQueueFilling starts counting.',
        unit: 'percentunit',
        min: 0,
        thresholdLine: 0.5,
        queries: [
          {
            expr: `max by (method) (clickdesk_ratelimit_queued_calls${M} / clickdesk_ratelimit_queue_capacity${M})`,
            legend: '{{method}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Calls refused by the governor, per 5 min',
        description:
          'queue_full: more demand than the queue holds; deadline: waited too long. Counted over a fixed 5-minute window.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (method, reason) (increase(clickdesk_ratelimit_refused_total${M}[5m]))`,
            legend: '{{method}} {{reason}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Calls by outcome',
        description:
          'ok, token_expired (refreshed and retried), ratelimited, api_error, auth_error, network_error, bad_response.',
        unit: 'reqps',
        min: 0,
        queries: [
          {
            expr: `sum by (outcome) (rate(clickdesk_api_requests_total${M}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
      }),
    },
  ],
});
