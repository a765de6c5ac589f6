import { dashboard, J, stat, timeseries } from './kit';

/** Node's default metrics (prom-client), per instance: the USE view of the process. */
const perInstance = (metric: string, what = '') => ({
  expr: `${metric}${J}`,
  legend: `${what}{{instance}}`,
});

export const processDashboard = dashboard({
  uid: 'clickdesk-process',
  title: 'ClickDesk · the process',
  description:
    'CPU, memory, heap, garbage collection, event-loop lag, handles and file descriptors, per instance.',
  methodVariable: false,
  panels: [
    {
      width: 6,
      panel: stat({
        title: 'Uptime, shortest',
        description:
          'Since the most recent start of a selected instance; a small value after no deploy means a crash.',
        unit: 's',
        thresholds: [['orange'], [600, 'green']],
        queries: [
          {
            expr: `time() - max(process_start_time_seconds${J} and on (job, instance) clickdesk_rtm_connections${J})`,
          },
        ],
      }),
    },
    {
      width: 6,
      panel: stat({
        title: 'Node.js version',
        description: 'The runtime of each selected instance.',
        unit: 'none',
        textMode: 'name',
        thresholds: [['blue']],
        queries: [{ expr: `max by (version) (nodejs_version_info${J})`, legend: '{{version}}' }],
      }),
    },
    {
      panel: timeseries({
        title: 'CPU',
        description: 'CPU seconds per second (1 = one core busy), user and system.',
        unit: 'percentunit',
        min: 0,
        queries: [
          { expr: `rate(process_cpu_seconds_total${J}[$__rate_interval])`, legend: 'total {{instance}}' },
          { expr: `rate(process_cpu_user_seconds_total${J}[$__rate_interval])`, legend: 'user {{instance}}' },
          {
            expr: `rate(process_cpu_system_seconds_total${J}[$__rate_interval])`,
            legend: 'system {{instance}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Memory',
        description:
          'Resident (what the container limit counts; ClickDeskMemoryHigh past 1 GiB), virtual, heap and external memory.',
        unit: 'bytes',
        min: 0,
        queries: [
          perInstance('process_resident_memory_bytes', 'resident '),
          perInstance('process_virtual_memory_bytes', 'virtual '),
          perInstance('process_heap_bytes', 'process heap '),
          perInstance('nodejs_external_memory_bytes', 'external '),
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Heap',
        description: 'V8 heap used against its size; a used line that only climbs is a leak.',
        unit: 'bytes',
        min: 0,
        queries: [
          perInstance('nodejs_heap_size_used_bytes', 'used '),
          perInstance('nodejs_heap_size_total_bytes', 'total '),
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Heap spaces',
        description: 'Used, total and available bytes per V8 heap space, summed over the selected instances.',
        unit: 'bytes',
        min: 0,
        queries: [
          { expr: `sum by (space) (nodejs_heap_space_size_used_bytes${J})`, legend: 'used {{space}}' },
          { expr: `sum by (space) (nodejs_heap_space_size_total_bytes${J})`, legend: 'total {{space}}' },
          {
            expr: `sum by (space) (nodejs_heap_space_size_available_bytes${J})`,
            legend: 'available {{space}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Event-loop lag',
        description:
          'Delay of the event loop (percentiles since the last scrape). Sustained lag delays acks, pongs and replies; ClickDeskEventLoopLag fires at p99 > 0.5 s (dashed).',
        unit: 's',
        min: 0,
        thresholdLine: 0.5,
        queries: [
          perInstance('nodejs_eventloop_lag_p99_seconds', 'p99 '),
          perInstance('nodejs_eventloop_lag_p90_seconds', 'p90 '),
          perInstance('nodejs_eventloop_lag_p50_seconds', 'p50 '),
          perInstance('nodejs_eventloop_lag_mean_seconds', 'mean '),
          perInstance('nodejs_eventloop_lag_stddev_seconds', 'stddev '),
          perInstance('nodejs_eventloop_lag_min_seconds', 'min '),
          perInstance('nodejs_eventloop_lag_max_seconds', 'max '),
          perInstance('nodejs_eventloop_lag_seconds', 'sampled '),
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Garbage collection',
        description: 'Share of time spent in GC, by kind.',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr: `sum by (instance, kind) (rate(nodejs_gc_duration_seconds_sum${J}[$__rate_interval]))`,
            legend: '{{kind}} {{instance}}',
          },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'Active handles, requests and resources',
        description:
          'libuv handles and requests and async resources by type; a count that only grows is a leak.',
        unit: 'short',
        min: 0,
        queries: [
          { expr: `sum by (type) (nodejs_active_handles${J})`, legend: 'handles {{type}}' },
          { expr: `sum by (type) (nodejs_active_requests${J})`, legend: 'requests {{type}}' },
          { expr: `sum by (type) (nodejs_active_resources${J})`, legend: 'resources {{type}}' },
        ],
      }),
    },
    {
      panel: timeseries({
        title: 'File descriptors',
        description: 'Open against the limit (dashed), per instance.',
        unit: 'short',
        min: 0,
        overrides: [
          {
            regexp: '/^max /',
            properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }],
          },
        ],
        queries: [perInstance('process_open_fds', 'open '), perInstance('process_max_fds', 'max ')],
      }),
    },
  ],
});
