import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { FaqHandler } from '../../packages/kit/test/helpers/faq-handler';
import { AppMetrics } from '../../packages/kit/src/metrics/app-metrics';
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
import { startLifecyclePair, type LifecyclePair } from '../../packages/kit/test/helpers/lifecycle-pair';
import { sleep, waitFor } from '../../packages/kit/test/helpers/wait-for';

const root = path.join(__dirname, '../..');
const monitoring = path.join(root, 'monitoring');
const promtool = findTool('promtool', "install Debian's prometheus package: apt-get install prometheus");
const prometheus = findTool('prometheus', "install Debian's prometheus package: apt-get install prometheus");
/** The real Prometheus below scrapes the app under this job, not the one monitoring/prometheus.yml names. */
const SCRAPE_JOB = 'support-bot-under-test';
/** What every panel, target and query variable must read: the Prometheus picked in $datasource. */
const DATASOURCE_VARIABLE = { type: 'prometheus', uid: '${datasource}' };

interface RuleFile {
  groups: Array<{ rules: Array<{ expr: string; record?: string; alert?: string }> }>;
}

/** A dashboard query as Grafana sends it, with $job set to the test's scrape job and $method to All. */
const fill = (e: string) =>
  e
    .replace(/\$__rate_interval/g, '30s')
    .replace(/\$__range/g, '5m')
    .replace(/\$job/g, SCRAPE_JOB)
    .replace(/\$method/g, '.*');

/** Every PromQL expression of the kit: dashboard targets and rules, with Grafana's variables filled in. */
function kitQueries(): Array<{ where: string; expr: string }> {
  const fromDashboards = DASHBOARDS.flatMap((d) =>
    dashboardQueries(d).map((q) => ({ where: q.where, expr: fill(q.expr) })),
  );
  const fromRules = ruleFiles().flatMap((file) =>
    (parseYamlRules(file).groups ?? []).flatMap((g) =>
      g.rules.map((r) => ({ where: `${path.basename(file)} › ${r.record ?? r.alert}`, expr: r.expr })),
    ),
  );
  return [...fromDashboards, ...fromRules];
}

const ruleFiles = () =>
  readdirSync(path.join(monitoring, 'rules'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join(monitoring, 'rules', f));

/** promtool prints rule files back as JSON-compatible YAML? No: read exprs with promtool's own parser. */
function parseYamlRules(file: string): RuleFile {
  // The rule files use one `expr:` per rule on a single line; this reads them without a YAML dependency.
  const rules: RuleFile['groups'][number]['rules'] = [];
  let name: { record?: string; alert?: string } = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const record = /^\s*- record: (\S+)/.exec(line);
    const alert = /^\s*- alert: (\S+)/.exec(line);
    const expr = /^\s*expr: (.+)$/.exec(line);
    if (record) name = { record: record[1] };
    if (alert) name = { alert: alert[1] };
    if (expr?.[1]) rules.push({ ...name, expr: expr[1] });
  }
  return { groups: [{ rules }] };
}

/** Every label matcher on `job` in a query: `job="x"`, `job=~"$job"`, `job!~"…"`. */
function jobMatchers(expr: string): string[] {
  return expr.match(/\bjob\s*(?:=~|!~|!=|=)\s*"[^"]*"/g) ?? [];
}

/** Selectors of a dashboard query that do not pick the $job variable, bare metric names included. */
function selectorsWithoutJob(expr: string): string[] {
  const braced = (expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}|\{[^}]*\}/g) ?? []).filter(
    (s) => !s.includes('job=~"$job"'),
  );
  const bare =
    expr.replace(/"[^"]*"/g, '""').match(/\b(?:clickdesk[_:]|process_|nodejs_)[a-zA-Z0-9_:]*\b(?!\{)/g) ?? [];
  return [...braced, ...bare];
}

interface Variable {
  type: string;
  name: string;
  query?: string;
  includeAll?: boolean;
  datasource?: unknown;
}

const variables = (d: Dashboard): Variable[] => (d.templating?.list ?? []) as Variable[];

/** Panels, rows' panels included. */
function panelsOf(
  d: Dashboard,
): Array<{ title?: string; datasource?: unknown; targets?: Array<{ datasource?: unknown }> }> {
  return (d.panels ?? []).flatMap((p) => [p, ...('panels' in p ? (p.panels ?? []) : [])]) as Array<{
    title?: string;
    datasource?: unknown;
    targets?: Array<{ datasource?: unknown }>;
  }>;
}

/** Metric names a query refers to (histogram series mapped to their family). */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:clickdesk|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [
    ...new Set(
      names.filter((n) => !n.startsWith('clickdesk:')).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    ),
  ];
}

describe('monitoring kit', () => {
  it('keeps the committed dashboards in step with scripts/grafana-dashboards.ts', () => {
    for (const d of DASHBOARDS) expect(readFileSync(dashboardFile(d), 'utf8')).toBe(renderDashboard(d));
  });

  it('puts request volume against limits per method first, every method styled by overrides', () => {
    const first = DASHBOARDS[0];
    expect(first?.uid).toBe('clickdesk-api-limits');
    const core = first?.panels?.[0] as
      | { targets: Array<{ expr: string; legendFormat: string }>; fieldConfig: { overrides: Override[] } }
      | undefined;
    const targets = core?.targets ?? [];
    expect(targets.map((t) => t.expr).join(' ')).toMatch(
      /clickdesk_api_requests_total[\s\S]*clickdesk_ratelimit_limit[\s\S]*clickdesk_ratelimit_planned_limit/,
    );
    // Methods not yet called are still drawn (at 0), from their limit series.
    expect(targets[0]?.expr).toMatch(/ or 0 \* max by \(method\) \(clickdesk_ratelimit_limit/);
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

  it('finds fixed job matchers and selectors without $job in hostile queries (the checks below)', () => {
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
    expect(
      selectorsWithoutJob('max({job=~"$job", __name__=~"clickdesk_x|process_y"}) + process_z{job=~"$job"}'),
    ).toEqual([]);
  });

  it('names no job in any rule, so the rules work whatever the scrape job is called', () => {
    const named = ruleFiles().flatMap((file) =>
      parseYamlRules(file).groups.flatMap((g) =>
        g.rules.flatMap((r) =>
          jobMatchers(r.expr).map((m) => `${path.basename(file)} › ${r.record ?? r.alert}: ${m}`),
        ),
      ),
    );
    expect(named).toEqual([]);
  });

  it('selects job=~"$job", never a fixed job, in every selector of every dashboard query and variable', () => {
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
    const registered = new Set((await new AppMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
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
    const registered = new Set((await new AppMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
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
    const alerts = parseYamlRules(path.join(monitoring, 'rules/alerts.yml')).groups[0]!.rules.map(
      (r) => r.alert,
    );
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

prometheus.describeIf('dashboards and rules against a real Prometheus scraping the app', () => {
  let pair: LifecyclePair;
  let prom: ChildProcess;
  let promUrl: string;
  let promLog = '';

  beforeAll(async () => {
    pair = await startLifecyclePair('sqlite', {
      handler: new FaqHandler(),
      simulator: { agentJoinDelayMs: 100 },
    });
    const appPort = new URL(pair.webhookUrl).port;

    const dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-'));
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    // The app under a job name of its own, and Prometheus scraping itself beside it (another
    // target with process_* series): the rules and dashboards must not depend on either name.
    const shipped = readFileSync(path.join(monitoring, 'prometheus.yml'), 'utf8');
    const [jobLine, indent, shippedJob] = /^(\s*)- job_name: (\S+)$/m.exec(shipped) ?? [];
    if (!jobLine || shippedJob === SCRAPE_JOB)
      throw new Error('monitoring/prometheus.yml: no job_name to rename');
    const config =
      shipped
        .replace(/scrape_interval: 15s/, 'scrape_interval: 1s')
        .replace(/evaluation_interval: 15s/, 'evaluation_interval: 1s')
        .replace(/- rules\//g, `- ${path.join(monitoring, 'rules')}/`)
        .replace("'127.0.0.1:3000'", `'127.0.0.1:${appPort}'`)
        .replace(jobLine, `${indent}- job_name: ${SCRAPE_JOB}`) +
      `${indent}- job_name: prometheus\n${indent}  static_configs:\n${indent}    - targets: ['127.0.0.1:${promPort}']\n`;
    writeFileSync(path.join(dir, 'prometheus.yml'), config);
    prom = spawn(
      prometheus.path!,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));

    // Traffic: conversations with FAQ answers and a handover, a redelivered event, a planned link refresh.
    for (let i = 0; i < 5; i++) {
      const { conversationId } = pair.sim.startVisitorChat(`Visitor ${i}`);
      pair.sim.visitorSays(conversationId, i === 4 ? 'talk to a human' : 'how long does shipping take?');
    }
    pair.sim.hub.faults.duplicateNext = 2;
    pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V2' });
    pair.sim.hub.disconnect('warning');
    await pair.sim.webhooks.send('data_deletion.requested', {
      team_id: pair.sim.team.id,
      subject: { kind: 'visitor', id: 'V-unknown' },
    });

    const query = async (q: string) =>
      (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as PromAnswer;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const up = await query(`count_over_time(up{job="${SCRAPE_JOB}"}[1m])`);
        if (Number(up.data?.result?.[0]?.value?.[1] ?? 0) >= 6) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Prometheus did not scrape the app in time:\n${promLog}`);
      await sleep(250);
    }
  }, 60_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    if (prom && prom.exitCode === null) await once(prom, 'exit');
    await pair?.stop();
  });

  it('evaluates every dashboard query and rule expression as valid PromQL that returns data', async () => {
    const registered = new Set((await new AppMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const empty: string[] = [];
    for (const q of kitQueries()) {
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
      const body = (await res.json()) as PromAnswer;
      expect({ where: q.where, status: body.status, error: body.error }).toEqual({
        where: q.where,
        status: 'success',
        error: undefined,
      });
      // Alert conditions are meant to be empty while all is well; everything else must have data,
      // except queries on metrics the app does not register yet (AWAITED_METRICS).
      const awaited = metricNames(q.expr).some((n) => AWAITED_METRICS.includes(n) && !registered.has(n));
      if (!q.where.includes('alerts.yml') && !awaited && (body.data?.result?.length ?? 0) === 0)
        empty.push(q.where);
    }
    expect(empty).toEqual([]);
  });

  it('lists every contract method in the $method variable and the core panel, called or not', async () => {
    const methods = Object.keys(CONTRACT_LIMITS.perMethod).sort();
    const labels = (await (
      await fetch(`${promUrl}/api/v1/label/method/values?match[]=clickdesk_ratelimit_limit`)
    ).json()) as { data: string[] };
    expect([...labels.data].sort()).toEqual(methods);
    const core = fill(dashboardQueries(DASHBOARDS[0]!)[0]!.expr);
    const body = (await (
      await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(core)}`)
    ).json()) as { data: { result: Array<{ metric: { method: string } }> } };
    expect(body.data.result.map((r) => r.metric.method).sort()).toEqual(methods);
  });

  it("lists the app's scrape job in $job, whatever it is named, and not Prometheus's own job", async () => {
    const values = async (match: string) =>
      (
        (await (
          await fetch(`${promUrl}/api/v1/label/job/values?match[]=${encodeURIComponent(match)}`)
        ).json()) as {
          data: string[];
        }
      ).data;
    expect(await values('up')).toEqual(expect.arrayContaining(['prometheus', SCRAPE_JOB]));
    for (const d of DASHBOARDS) {
      const query = variables(d).find((v) => v.name === 'job')?.query ?? '';
      const metric = /^label_values\((.+), job\)$/.exec(query)?.[1] ?? '';
      expect({ uid: d.uid, jobs: await values(metric) }).toEqual({ uid: d.uid, jobs: [SCRAPE_JOB] });
    }
  });

  it('loads the rule files and keeps every alert quiet while the app is healthy', async () => {
    const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; state?: string; health: string }> }> };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    const inFiles = ruleFiles().reduce((n, f) => n + (parseYamlRules(f).groups[0]?.rules.length ?? 0), 0);
    expect(rules.length).toBe(inFiles);
    expect(rules.filter((r) => r.health !== 'ok' && r.health !== 'unknown')).toEqual([]);
    expect(rules.filter((r) => r.state === 'firing').map((r) => r.name)).toEqual([]);
  });
});

interface Override {
  matcher: { id: string; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

interface PromAnswer {
  status: string;
  error?: string;
  data?: { result?: Array<{ value?: [number, string] }> };
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
