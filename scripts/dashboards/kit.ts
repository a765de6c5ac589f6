/**
 * The few shapes every ClickDesk dashboard uses, on Grafana's own dashboards-as-code library
 * (@grafana/grafana-foundation-sdk). Queries may use Grafana's $__rate_interval and the $job,
 * $instance and $method variables only; every selector picks `job=~"$job"` and
 * `instance=~"$instance"` (through J or M) and never a fixed job name. Counts over time use a
 * fixed window (`increase(…[5m])`), never one that changes with the zoom. Every stat names its
 * unit and its thresholds. The monitoring-kit test checks all of this and runs each query
 * against a real Prometheus whose scrape job is not the one in monitoring/prometheus.yml.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  type Dashboard,
  type DynamicConfigValue,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel, query and variable reads the Prometheus picked in the $datasource variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Selector for the $job and $instance variables: the app's scrape jobs, whatever they are named, and instances. */
export const J = '{job=~"$job", instance=~"$instance"}';
/** Selector for the $job, $instance and $method variables. */
export const M = '{job=~"$job", instance=~"$instance", method=~"$method"}';
/** Lists the jobs that serve the app's metrics; a labelless gauge every instance has from its start. */
export const JOB_QUERY = 'label_values(clickdesk_rtm_connections, job)';
/** Lists the instances of the picked jobs. */
export const INSTANCE_QUERY = 'label_values(clickdesk_rtm_connections{job=~"$job"}, instance)';

export interface Query {
  expr: string;
  legend?: string;
}

interface PanelCommon {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Grid columns out of 24; 12 by default. */
  width?: number;
}

const prometheus = (queries: Query[]) =>
  queries.map((q, i) =>
    new DataqueryBuilder()
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto')
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE),
  );

/** A time series panel; `overrides` style series by their legend name. */
export function timeseries(
  p: PanelCommon & {
    overrides?: Array<
      | { name: string; properties: DynamicConfigValue[] }
      | { regexp: string; properties: DynamicConfigValue[] }
    >;
    /** A dashed line across the panel at this value (e.g. 100 % utilisation). */
    thresholdLine?: number;
    min?: number;
  },
): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .unit(p.unit)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .calcs([]),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .lineWidth(2)
    .fillOpacity(0);
  if (p.min !== undefined) panel.min(p.min);
  if (p.thresholdLine !== undefined) {
    panel
      .thresholds(
        new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
          { value: null, color: 'transparent' },
          { value: p.thresholdLine, color: 'red' },
        ]),
      )
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
  }
  for (const o of p.overrides ?? []) {
    if ('name' in o) panel.overrideByName(o.name, o.properties);
    else panel.overrideByRegexp(o.regexp, o.properties);
  }
  for (const q of prometheus(p.queries)) panel.withTarget(q);
  return panel;
}

/** Threshold steps from the base colour up: `[['green'], [1, 'red']]` is green below 1, red from 1. */
export type Steps = [[string], ...Array<[number, string]>];

const thresholdSteps = (steps: Steps) =>
  new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps(
      steps.map((s): Threshold =>
        s.length === 1 ? { value: null, color: s[0] } : { value: s[0], color: s[1] },
      ),
    );

/**
 * A single figure, the last value of its query, coloured by its own thresholds (never Grafana's
 * default of red at 80). `textMode: 'name'` shows the series name instead (e.g. a version label).
 */
export function stat(p: PanelCommon & { thresholds: Steps; textMode?: 'name' }): StatBuilder {
  const panel = new StatBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .unit(p.unit)
    .thresholds(thresholdSteps(p.thresholds))
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (p.textMode === 'name')
    panel.textMode(common.BigValueTextMode.Name).graphMode(common.BigValueGraphMode.None);
  for (const q of prometheus(p.queries)) panel.withTarget(q);
  return panel;
}

type AnyPanel = TimeseriesBuilder | StatBuilder;

/**
 * Builds a dashboard: the $datasource and $job variables, optionally $method, and the panels in
 * rows of 24 columns.
 */
export function dashboard(d: {
  uid: string;
  title: string;
  description: string;
  methodVariable: boolean;
  panels: Array<{ panel: AnyPanel; width?: number }>;
}): Dashboard {
  const board = new DashboardBuilder(d.title)
    .uid(d.uid)
    .description(d.description)
    .tags(['clickdesk'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query(JOB_QUERY)
        .includeAll(true)
        .multi(true)
        // No allValue: "All" stands for the listed jobs only, so process_* series of other
        // targets in the same Prometheus (Prometheus itself, exporters) stay out.
        .current({ text: 'All', value: '$__all' })
        .refresh(VariableRefresh.OnTimeRangeChanged),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(DATASOURCE)
        .query(INSTANCE_QUERY)
        .includeAll(true)
        .multi(true)
        // "All" is the listed instances of the picked jobs, so other targets stay out here too.
        .current({ text: 'All', value: '$__all' })
        .refresh(VariableRefresh.OnTimeRangeChanged),
    );
  if (d.methodVariable) {
    board.withVariable(
      new QueryVariableBuilder('method')
        .label('Method')
        .datasource(DATASOURCE)
        // Every contract method has a limit series from the app's start, so all are listed.
        .query(`label_values(clickdesk_ratelimit_limit{job=~"$job"}, method)`)
        .includeAll(true)
        .multi(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' })
        .refresh(VariableRefresh.OnTimeRangeChanged),
    );
  }
  let x = 0;
  let y = 0;
  for (const { panel, width = 12 } of d.panels) {
    if (x + width > 24) {
      x = 0;
      y += 8;
    }
    board.withPanel(panel.gridPos({ x, y, w: width, h: 8 }));
    x += width;
  }
  return board.build();
}
