import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { AppMetrics } from '../../packages/kit/src/metrics/app-metrics';
import { registerDependencyMetrics } from '../../packages/kit/src/metrics/dependency-metrics';
import { registerLinkMetrics } from '../../packages/kit/src/metrics/link-metrics';
import {
  AWAITED_METRICS,
  DASHBOARDS,
  dashboardFile,
  dashboardQueries,
  renderDashboard,
} from '../../scripts/grafana-dashboards';
import { CONTRACT_LIMITS } from '../../packages/kit/src/rate-limit/bucket-spec';
import { findTool } from '../../packages/kit/test/helpers/require-tool';
import { startSandboxPair } from '../../packages/kit/test/helpers/sandbox-pair';
import { waitFor } from '../../packages/kit/test/helpers/wait-for';
import {
  allRules,
  jobMatchers,
  kitQueries,
  metricNames,
  monitoring,
  panelsOf,
  root,
  ruleFiles,
  selectorsWithoutJob,
  variables,
} from './kit-queries';

const promtool = findTool('promtool', "install Debian's prometheus package: apt-get install prometheus");
/** What every panel, target and query variable must read: the Prometheus picked in $datasource. */
const DATASOURCE_VARIABLE = { type: 'prometheus', uid: '${datasource}' };

interface Override {
  matcher: { id: string; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

describe('monitoring kit', () => {
  it('keeps the committed dashboards in step with scripts/grafana-dashboards.ts', () => {
    for (const d of DASHBOARDS) expect(readFileSync(dashboardFile(d), 'utf8')).toBe(renderDashboard(d));
  });

  it("puts the busiest team's window against its limit per method first, every method styled by overrides", () => {
    const first = DASHBOARDS[0];
    expect(first?.uid).toBe('clickdesk-api-limits');
    const core = first?.panels?.[0] as
      | { targets: Array<{ expr: string; legendFormat: string }>; fieldConfig: { overrides: Override[] } }
      | undefined;
    const targets = core?.targets ?? [];
    // Limits are per team: the calls drawn against a limit are the busiest team's window, never a sum over teams.
    expect(targets.map((t) => t.expr).join(' ')).toMatch(
      /clickdesk_ratelimit_utilization[\s\S]*\* clickdesk_ratelimit_limit[\s\S]*clickdesk_ratelimit_limit[\s\S]*clickdesk_ratelimit_planned_limit/,
    );
    expect(targets.map((t) => t.expr).join(' ')).not.toMatch(/clickdesk_api_requests_total/);
    expect(targets.map((t) => t.legendFormat)).toEqual([
      '{{method}}',
      '{{method}} limit',
      '{{method}} planned ceiling',
    ]);
    const overrides = core?.fieldConfig.overrides ?? [];
    const props = (name: string) => overrides.find((o) => o.matcher.options === name)?.properties ?? [];
    const value = (name: string, id: string) => props(name).find((p) => p.id === id)?.value;
    for (const method of Object.keys(CONTRACT_LIMITS.perMethod)) {
      const colour = value(method, 'color');
      expect(colour).toMatchObject({ mode: 'fixed' });
      expect(value(`${method} limit`, 'color')).toEqual(colour);
      expect(value(`${method} planned ceiling`, 'color')).toEqual(colour);
      expect(value(`${method} limit`, 'custom.lineStyle')).toMatchObject({ fill: 'dash' });
      expect(value(`${method} planned ceiling`, 'custom.lineStyle')).toMatchObject({ fill: 'dot' });
    }
    // The volume over all teams has a panel of its own, every method drawn from its limit series at 0 until called.
    const volume = first?.panels?.[1] as { title: string; targets: Array<{ expr: string }> } | undefined;
    expect(volume?.title).toMatch(/all teams/);
    expect(volume?.targets[0]?.expr).toMatch(/ or 0 \* max by \(method\) \(clickdesk_ratelimit_limit/);
  });

  it('gives every stat a unit and thresholds of its own, never the default red at 80', () => {
    const stats = DASHBOARDS.flatMap((d) =>
      panelsOf(d)
        .filter((p) => p.type === 'stat')
        .map((p) => ({ where: `${d.uid ?? ''} › ${p.title ?? ''}`, defaults: p.fieldConfig?.defaults })),
    );
    expect(stats.length).toBeGreaterThanOrEqual(10);
    for (const { where, defaults } of stats) {
      const steps = defaults?.thresholds?.steps ?? [];
      expect({ where, unit: typeof defaults?.unit, mode: defaults?.thresholds?.mode }).toEqual({
        where,
        unit: 'string',
        mode: 'absolute',
      });
      expect({ where, base: steps[0]?.value }).toEqual({ where, base: null });
      expect({ where, default80: steps.some((s) => s.value === 80) }).toEqual({ where, default80: false });
    }
    const threshold = (title: string) =>
      stats.find((s) => s.where.endsWith(title))?.defaults?.thresholds?.steps?.map((s) => [s.value, s.color]);
    expect(threshold('429s received in the last hour (must stay 0)')).toEqual([
      [null, 'green'],
      [1, 'red'],
    ]);
    expect(threshold('Open RTM links')).toEqual([
      [null, 'red'],
      [1, 'green'],
    ]);
    // A normal 13 h is green; orange from 20 h, red from 24 h.
    expect(threshold('Oldest confirmation of stored Data')).toEqual([
      [null, 'green'],
      [72000, 'orange'],
      [86400, 'red'],
    ]);
  });

  it('counts over fixed windows or rates, never increase() over a window that changes with the zoom', () => {
    const zoomed = DASHBOARDS.flatMap((d) =>
      dashboardQueries(d)
        .filter((q) => /increase\([^()]*\[\$__(rate_interval|interval|range)\]\)/.test(q.expr))
        .map((q) => q.where),
    );
    expect(zoomed).toEqual([]);
  });

  it('draws counts and ages on separate panels: no panel mixes a seconds series with a count', () => {
    const mixed = DASHBOARDS.flatMap((d) =>
      panelsOf(d)
        .filter((p) => {
          const exprs = (p.targets ?? []).map((t) => t.expr ?? '');
          const ages = exprs.filter(
            (e) => /_seconds\b(?!_(bucket|count|sum|total))/.test(e) && !/histogram_quantile|rate\(/.test(e),
          );
          return ages.length > 0 && ages.length < exprs.length;
        })
        .map((p) => `${d.uid ?? ''} › ${p.title ?? ''}`),
    );
    expect(mixed).toEqual([]);
  });

  it('shows window utilisation above 100 %: no panel with a maximum at 1, a dashed line at 100 % instead', () => {
    const panels = DASHBOARDS.flatMap((d) => d.panels ?? []) as Array<{
      type: string;
      title: string;
      fieldConfig?: { defaults?: { max?: number; custom?: { thresholdsStyle?: { mode: string } } } };
    }>;
    expect(panels.filter((p) => p.type === 'bargauge' || p.type === 'gauge')).toEqual([]);
    const utilisation = panels.find((p) => p.title === 'Window utilisation');
    expect(utilisation?.type).toBe('timeseries');
    expect(utilisation?.fieldConfig?.defaults?.max).toBeUndefined();
    expect(utilisation?.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode).toBe('dashed');
  });

  it('prints help for npm run dashboards -- --help and writes nothing', () => {
    const before = DASHBOARDS.map((d) => readFileSync(dashboardFile(d), 'utf8'));
    const stamp = new Date('2001-01-01T00:00:00Z');
    for (const d of DASHBOARDS) utimesSync(dashboardFile(d), stamp, stamp);
    const out = execFileSync(
      process.execPath,
      [require.resolve('tsx/cli'), path.join(root, 'scripts/grafana-dashboards.ts'), '--help'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out).toMatch(/^Usage: npm run dashboards/);
    expect(out).toMatch(/--check/);
    expect(DASHBOARDS.map((d) => statSync(dashboardFile(d)).mtime.getTime())).toEqual(
      DASHBOARDS.map(() => stamp.getTime()),
    );
    expect(DASHBOARDS.map((d) => readFileSync(dashboardFile(d), 'utf8'))).toEqual(before);
  });

  it('finds fixed job matchers and selectors without $job or $instance in hostile queries (the checks below)', () => {
    expect(jobMatchers('up{job="clickdesk-bot"} == 0')).toEqual(['job="clickdesk-bot"']);
    expect(jobMatchers('max({__name__=~"a|b", job =~ "clickdesk-.*"}) by (job)')).toEqual([
      'job =~ "clickdesk-.*"',
    ]);
    expect(jobMatchers('sum by (job, instance) (up) and on (job) clickdesk_rtm_connections')).toEqual([]);
    expect(selectorsWithoutJob('sum(clickdesk_a) / clickdesk_b{method=~"$method"} + clickdesk:c')).toEqual([
      'clickdesk_b{method=~"$method"}',
      'clickdesk_a',
      'clickdesk:c',
    ]);
    // $job alone is not enough: two instances of one job would be summed.
    expect(selectorsWithoutJob('process_z{job=~"$job"}')).toEqual(['process_z{job=~"$job"}']);
    expect(
      selectorsWithoutJob(
        'max({job=~"$job", instance=~"$instance", __name__=~"clickdesk_x|process_y"}) + process_z{job=~"$job", instance=~"$instance"}',
      ),
    ).toEqual([]);
  });

  it('names no job in any rule, so the rules work whatever the scrape job is called', () => {
    const named = allRules().flatMap((r) =>
      jobMatchers(r.expr).map((m) => `${r.file} › ${r.record ?? r.alert ?? ''}: ${m}`),
    );
    expect(named).toEqual([]);
  });

  it('selects job=~"$job" and instance=~"$instance", never a fixed job, in every selector of every dashboard query', () => {
    const queries = DASHBOARDS.flatMap((d) => [
      ...dashboardQueries(d),
      ...variables(d)
        .filter((v) => v.type === 'query')
        .map((v) => ({ where: `${d.uid ?? ''} › $${v.name}`, expr: v.query ?? '' })),
    ]);
    const fixed = queries.flatMap((q) =>
      jobMatchers(q.expr)
        .filter((m) => m !== 'job=~"$job"')
        .map((m) => `${q.where}: ${m}`),
    );
    expect(fixed).toEqual([]);
    const unpicked = DASHBOARDS.flatMap((d) =>
      dashboardQueries(d).flatMap((q) => selectorsWithoutJob(q.expr).map((s) => `${q.where}: ${s}`)),
    );
    expect(unpicked).toEqual([]);
  });

  it('offers a $job variable on every dashboard, listing the jobs that serve an app metric, All included', async () => {
    // What createBotApp registers: the app's metrics, and the dependency and link gauges beside them.
    const metrics = new AppMetrics();
    const up = { up: true };
    registerDependencyMetrics(metrics.registry, () => ({ storage: up, rtm: up, rate_store: up }));
    registerLinkMetrics(metrics.registry, () => ({
      running: true,
      openConnections: 0,
      deliverableConnections: 0,
    }));
    const registered = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    for (const d of DASHBOARDS) {
      const job = variables(d).find((v) => v.name === 'job');
      expect({ uid: d.uid, job }).toMatchObject({
        uid: d.uid,
        job: { type: 'query', includeAll: true, datasource: DATASOURCE_VARIABLE },
      });
      const metric = /^label_values\(([a-z_]+), job\)$/.exec(job?.query ?? '')?.[1] ?? '';
      expect(registered.has(metric)).toBe(true);
    }
  });

  it('offers an $instance variable on every dashboard, listing the instances of the picked jobs, All included', () => {
    for (const d of DASHBOARDS) {
      const instance = variables(d).find((v) => v.name === 'instance');
      expect({ uid: d.uid, instance }).toMatchObject({
        uid: d.uid,
        instance: {
          type: 'query',
          includeAll: true,
          datasource: DATASOURCE_VARIABLE,
          query: 'label_values(clickdesk_rtm_connections{job=~"$job"}, instance)',
        },
      });
    }
  });

  it('reads every panel, target and query variable from the $datasource variable, so an import picks any Prometheus', () => {
    for (const d of DASHBOARDS) {
      expect(variables(d).find((v) => v.name === 'datasource')).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
      });
      const readers = [
        ...panelsOf(d).flatMap((p) => [
          { where: `${d.uid ?? ''} › ${p.title ?? ''}`, datasource: p.datasource },
          ...(p.targets ?? []).map((t) => ({
            where: `${d.uid ?? ''} › ${p.title ?? ''} › target`,
            datasource: t.datasource,
          })),
        ]),
        ...variables(d)
          .filter((v) => v.type === 'query')
          .map((v) => ({ where: `${d.uid ?? ''} › $${v.name}`, datasource: v.datasource })),
      ];
      expect(readers.length).toBeGreaterThan(0);
      expect(readers).toEqual(readers.map((r) => ({ where: r.where, datasource: DATASOURCE_VARIABLE })));
    }
  });

  it('uses only metric names the app registers', async () => {
    // What createBotApp registers: the app's metrics, and the dependency and link gauges beside them.
    const metrics = new AppMetrics();
    const up = { up: true };
    registerDependencyMetrics(metrics.registry, () => ({ storage: up, rtm: up, rate_store: up }));
    registerLinkMetrics(metrics.registry, () => ({
      running: true,
      openConnections: 0,
      deliverableConnections: 0,
    }));
    const registered = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    for (const name of AWAITED_METRICS) registered.add(name);
    const unknown = kitQueries().flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !registered.has(n))
        .map((n) => `${q.where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    expect(kitQueries().length).toBeGreaterThan(20);
  });
});

promtool.describeIf('monitoring kit under promtool', () => {
  const run = (...args: string[]) =>
    execFileSync(promtool.path!, args, { cwd: monitoring, encoding: 'utf8', stdio: 'pipe' });

  it('passes promtool check config', () => {
    expect(run('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS/);
  });

  it('passes promtool check rules', () => {
    const out = run('check', 'rules', ...ruleFiles());
    expect(out.match(/SUCCESS: \d+ rules found/g)).toHaveLength(ruleFiles().length);
    expect(out).not.toMatch(/FAILED/);
  });

  it('passes promtool test rules: every alert fires on its signal and stays quiet otherwise', () => {
    const files = readdirSync(path.join(monitoring, 'rules/tests'))
      .filter((f) => f.endsWith('.test.yml'))
      .map((f) => `rules/tests/${f}`);
    const tests = files.map((f) => readFileSync(path.join(monitoring, f), 'utf8')).join('\n');
    const alerts = allRules().flatMap((r) => (r.alert ? [r.alert] : []));
    for (const alert of alerts) expect(tests).toContain(`alertname: ${alert}`);
    // rtm-silence.test.yml replays days of history; the next test runs it.
    const quick = files.filter((f) => !f.endsWith('rtm-silence.test.yml'));
    const out = run('test', 'rules', ...quick);
    expect(out.match(/SUCCESS/g)).toHaveLength(quick.length);
    expect(out).not.toMatch(/FAILED/);
  });

  it('keeps ClickDeskRTMSilent quiet after a quiet restart and on a quiet night (promtool, from a restart)', () => {
    const tests = readFileSync(path.join(monitoring, 'rules/tests/rtm-silence.test.yml'), 'utf8');
    expect(tests).toMatch(/name: a quiet restart is not silence/);
    expect(tests).toMatch(/name: a quiet night is not silence/);
    expect(run('test', 'rules', 'rules/tests/rtm-silence.test.yml')).toMatch(/SUCCESS/);
  });

  it("passes promtool check metrics on the app's real /metrics", async () => {
    const pair = await startSandboxPair();
    try {
      pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
      await waitFor('event acknowledged', () => pair.sim.counters.eventsAcked === 1);
      const scrape = await request(pair.app.http).get('/metrics');
      expect(scrape.status).toBe(200);
      const out = execFileSync(promtool.path!, ['check', 'metrics'], {
        input: scrape.text,
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(out).toBe('');
    } finally {
      await pair.stop();
    }
  });
});
