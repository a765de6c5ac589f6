import { dashboard, J, stat, timeseries } from './kit';

/**
 * Seconds since the freshest of: the last event any instance received, or the latest instance
 * start; as in the ClickDeskRTMSilent rule, starts count only for targets serving the app's metrics.
 */
export const SILENCE =
  'time() - max({job=~"$job", __name__=~"clickdesk_rtm_last_event_timestamp_seconds|process_start_time_seconds"}' +
  ` and on (job, instance) clickdesk_rtm_connections${J})`;

export const connectionHealth = dashboard({
  uid: 'clickdesk-rtm',
  title: 'ClickDesk · connection health',
  description: 'RTM links: state, reconnects, events, duplicates and acknowledgement latency.',
  methodVariable: false,
  panels: [
    {
      panel: stat({
        title: 'Open RTM links',
        description: 'Across all instances. 0 means visitors get no answers.',
        unit: 'short',
        queries: [{ expr: `sum(clickdesk_rtm_connections${J})` }],
      }),
    },
    {
      panel: stat({
        title: 'Seconds since the last event (or the last start)',
        description:
          'Counted from the last envelope any instance received, or from the latest start when none has arrived since. ' +
          'Long silence with open links is worth a look at busy times; a quiet night is normal.',
        unit: 's',
        queries: [{ expr: SILENCE }],
      }),
    },
    {
      panel: timeseries({
        title: 'Reconnects by reason',
        description:
          'warning and refresh_requested are planned; pong_timeout, stalled and closed_by_server are not.',
        unit: 'short',
        queries: [
          {
            expr: `sum by (reason) (increase(clickdesk_rtm_reconnects_total${J}[$__rate_interval]))`,
            legend: '{{reason}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Events received by outcome',
        description:
          'recorded (new), duplicate (redelivery dropped), unmodelled (acknowledged, ignored), not_recorded (left for redelivery).',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (outcome) (rate(clickdesk_rtm_events_total${J}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Acknowledgement latency',
        description: 'Receipt to ack, recording included. ClickDesk redelivers after 3 s.',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(clickdesk_rtm_ack_latency_seconds_bucket${J}[$__rate_interval])))`,
            legend: 'p50',
          },
          {
            expr: `histogram_quantile(0.99, sum by (le) (rate(clickdesk_rtm_ack_latency_seconds_bucket${J}[$__rate_interval])))`,
            legend: 'p99',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Duplicates dropped and malformed frames',
        description: 'Redeliveries deduplicated, and frames that were not valid RTM.',
        unit: 'short',
        queries: [
          {
            expr: `sum(increase(clickdesk_rtm_duplicates_dropped_total${J}[$__rate_interval]))`,
            legend: 'duplicates',
          },
          {
            expr: `sum(increase(clickdesk_rtm_protocol_errors_total${J}[$__rate_interval]))`,
            legend: 'malformed',
          },
        ],
      }),
    },
  ],
});
