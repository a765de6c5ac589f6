/**
 * What the monitoring tests read from the kit: rule files (without a YAML dependency: one
 * `expr:` per rule on a single line), dashboard queries with Grafana's variables filled in, and
 * the metric names and selectors in a query.
 */
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARDS, dashboardQueries } from '../../scripts/grafana-dashboards';

export const root = path.join(__dirname, '../..');
export const monitoring = path.join(root, 'monitoring');
/** The real Prometheus of the sweep scrapes the app under this job, not the one monitoring/prometheus.yml names. */
export const SCRAPE_JOB = 'support-bot-under-test';

export interface Rule {
  expr: string;
  record?: string;
  alert?: string;
  for?: string;
  severity?: string;
  summary?: string;
  description?: string;
  runbookUrl?: string;
}

export const ruleFiles = (): string[] =>
  readdirSync(path.join(monitoring, 'rules'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join(monitoring, 'rules', f));

/** The rules of one file, with the fields the tests check. */
export function parseYamlRules(file: string): Rule[] {
  const rules: Rule[] = [];
  let current: Rule | undefined;
  const field = (line: string, key: string) => new RegExp(`^\\s*${key}: (.+)$`).exec(line)?.[1];
  const unquote = (v: string) => v.replace(/^'(.*)'$/, '$1').replace(/''/g, "'");
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const record = /^\s*- record: (\S+)/.exec(line)?.[1];
    const alert = /^\s*- alert: (\S+)/.exec(line)?.[1];
    if (record || alert) {
      current = { expr: '', ...(record ? { record } : { alert }) };
      rules.push(current);
      continue;
    }
    if (!current) continue;
    const expr = field(line, 'expr');
    if (expr) current.expr = expr;
    const forValue = field(line, 'for');
    if (forValue) current.for = forValue;
    const severity = /^\s*labels: \{ severity: (\w+) \}/.exec(line)?.[1];
    if (severity) current.severity = severity;
    const summary = field(line, 'summary');
    if (summary) current.summary = unquote(summary);
    const description = field(line, 'description');
    if (description) current.description = unquote(description);
    const runbook = field(line, 'runbook_url');
    if (runbook) current.runbookUrl = unquote(runbook);
  }
  return rules;
}

export const allRules = (): Array<Rule & { file: string }> =>
  ruleFiles().flatMap((file) => parseYamlRules(file).map((r) => ({ ...r, file: path.basename(file) })));

/** A dashboard query as Grafana sends it, with $job set to the test's scrape job, $instance and $method to All. */
export const fill = (e: string): string =>
  e
    .replace(/\$__rate_interval/g, '30s')
    .replace(/\$job/g, SCRAPE_JOB)
    .replace(/\$instance/g, '.*')
    .replace(/\$method/g, '.*');

export interface KitQuery {
  where: string;
  expr: string;
  kind: 'dashboard' | 'record' | 'alert';
}

/** Every PromQL expression of the kit: dashboard targets and rules, with Grafana's variables filled in. */
export function kitQueries(): KitQuery[] {
  const fromDashboards = DASHBOARDS.flatMap((d) =>
    dashboardQueries(d).map((q) => ({ where: q.where, expr: fill(q.expr), kind: 'dashboard' as const })),
  );
  const fromRules = allRules().map((r) => ({
    where: `${r.file} › ${r.record ?? r.alert ?? ''}`,
    expr: r.expr,
    kind: r.record ? ('record' as const) : ('alert' as const),
  }));
  return [...fromDashboards, ...fromRules];
}

/** Every label matcher on `job` in a query: `job="x"`, `job=~"$job"`, `job!~"…"`. */
export function jobMatchers(expr: string): string[] {
  return expr.match(/\bjob\s*(?:=~|!~|!=|=)\s*"[^"]*"/g) ?? [];
}

/** Selectors of a dashboard query that do not pick both $job and $instance, bare metric names included. */
export function selectorsWithoutJob(expr: string): string[] {
  const braced = (expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}|\{[^}]*\}/g) ?? []).filter(
    (s) => !s.includes('job=~"$job"') || !s.includes('instance=~"$instance"'),
  );
  const bare =
    expr.replace(/"[^"]*"/g, '""').match(/\b(?:clickdesk[_:]|process_|nodejs_)[a-zA-Z0-9_:]*\b(?!\{)/g) ?? [];
  return [...braced, ...bare];
}

/** Metric names a query refers to (histogram series mapped to their family). */
export function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:clickdesk|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [
    ...new Set(
      names.filter((n) => !n.startsWith('clickdesk:')).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    ),
  ];
}

export interface Variable {
  type: string;
  name: string;
  query?: string;
  includeAll?: boolean;
  datasource?: unknown;
}

export const variables = (d: Dashboard): Variable[] => (d.templating?.list ?? []) as Variable[];

export interface PanelJson {
  type?: string;
  title?: string;
  datasource?: unknown;
  targets?: Array<{ datasource?: unknown; expr?: string }>;
  fieldConfig?: {
    defaults?: {
      unit?: string;
      max?: number;
      thresholds?: { mode?: string; steps?: Array<{ value: number | null; color: string }> };
      custom?: { thresholdsStyle?: { mode: string } };
    };
  };
}

/** Panels, rows' panels included. */
export function panelsOf(d: Dashboard): PanelJson[] {
  return (d.panels ?? []).flatMap((p) => [p, ...('panels' in p ? (p.panels ?? []) : [])]) as PanelJson[];
}

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
