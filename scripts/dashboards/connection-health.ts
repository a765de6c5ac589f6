import { dashboard, J, stat, timeseries } from './kit';

/**
 * Seconds since the freshest of: the last event any instance received, or the latest instance
 * start; as in the ClickDeskRTMSilent rule, starts count only for targets serving the app's metrics.
 */
export const SILENCE =
  'time() - max({job=~"$job", instance=~"$instance", __name__=~"clickdesk_rtm_last_event_timestamp_seconds|process_start_time_seconds"}' +
  ` and on (job, instance) clickdesk_rtm_connections${J})`;

export const connectionHealth = dashboard({
  uid: 'clickdesk-rtm',
  title: 'ClickDesk · connection health',
  description: 'RTM links: state, reconnects, events, duplicates and acknowledgement latency.',
  methodVariable: false,
  panels: [
    {
      width: 6,
      panel: stat({
        title: 'Open RTM links',
        description: 'Across the selected instances. 0 means visitors get no answers (ClickDeskRTMDown).',
        unit: 'short',
        thresholds: [['red'], [1, 'green']],
        queries: [{ expr: `sum(clickdesk_rtm_connections${J})` }],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Seconds since the last event (or the last start)',
        description:
          'Counted from the last envelope any instance received, or from the latest start when none has arrived since. ' +
          'Long silence with open links is worth a look at busy times (orange past 30 min, red past an hour); a quiet night is normal.',
        unit: 's',
        thresholds: [['green'], [1800, 'orange'], [3600, 'red']],
        queries: [{ expr: SILENCE }],
      }),
    },
    {
      panel: timeseries({
        title: 'Links across the fleet',
        description:
          "Deliverable links of the selected instances against the app's cap (RTM_APP_LINKS), and " +
          'instances holding no link: by design (the fleet holds the cap; ready) or wanted (503). ' +
          'ClickDeskFleetLinksBelowCap fires when the fleet stays below the cap while an instance wants a link.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: 'sum(clickdesk_rtm_links{job=~"$job", instance=~"$instance", state="deliverable"})',
            legend: 'deliverable links',
          },
          {
            expr: 'max(clickdesk_rtm_fleet_seats{job=~"$job", instance=~"$instance", state="cap"})',
            legend: 'cap',
          },
          {
            expr: `sum by (reason) (clickdesk_rtm_no_link${J})`,
            legend: 'instances with no link ({{reason}})',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Reconnects by reason, per 5 min',
        description:
          'warning and refresh_requested are planned; pong_timeout, stalled, closed_by_server, socket_error and ' +
          'hello_timeout are not. Every reason is present at 0 from the start, so the first one shows.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum by (reason) (increase(clickdesk_rtm_reconnects_total${J}[5m]))`,
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
        min: 0,
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
        description:
          'Receipt to ack, recording included. ClickDesk redelivers after 3 s (the dashed line); ClickDeskAckLatencyNearDeadline watches the share over 2.5 s.',
        unit: 's',
        min: 0,
        thresholdLine: 3,
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
        title: 'Duplicates dropped and malformed frames, per 5 min',
        description: 'Redeliveries deduplicated, and frames that were not valid RTM.',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: `sum(increase(clickdesk_rtm_duplicates_dropped_total${J}[5m]))`,
            legend: 'duplicates',
          },
          {
            expr: `sum(increase(clickdesk_rtm_protocol_errors_total${J}[5m]))`,
            legend: 'malformed',
          },
        ],
      }),
    },
  ],
});
