/**
 * The operator's sweep as a test: a real Prometheus (loopback, temp data dir, 1 s scrapes) scrapes
 * the app while the simulator drives scripted traffic, and every dashboard query and rule
 * expression is evaluated through Prometheus's HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppMetrics } from '../../packages/kit/src/metrics/app-metrics';
import { AWAITED_METRICS, DASHBOARDS, dashboardQueries } from '../../scripts/grafana-dashboards';
import { CONTRACT_LIMITS } from '../../packages/kit/src/rate-limit/bucket-spec';
import { FaqHandler } from '../../packages/kit/test/helpers/faq-handler';
import { findTool } from '../../packages/kit/test/helpers/require-tool';
import { startLifecyclePair, type LifecyclePair } from '../../packages/kit/test/helpers/lifecycle-pair';
import { sleep, waitFor } from '../../packages/kit/test/helpers/wait-for';
import {
  allRules,
  fill,
  freePort,
  kitQueries,
  metricNames,
  monitoring,
  SCRAPE_JOB,
  variables,
} from './kit-queries';

/** Series that are empty at rest by nature: libuv requests in flight (none when the app is idle). */
const MAY_BE_EMPTY = ['nodejs_active_requests'];

/** Polls an asynchronous condition. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const prometheus = findTool('prometheus', "install Debian's prometheus package: apt-get install prometheus");

interface PromAnswer {
  status: string;
  error?: string;
  data?: { result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
}

prometheus.describeIf('the operator sweep: a real Prometheus scraping the app under scripted traffic', () => {
  let pair: LifecyclePair;
  let prom: ChildProcess;
  let promUrl: string;
  let promLog = '';
  let dir: string;

  const query = async (q: string): Promise<PromAnswer> =>
    (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as PromAnswer;
  const scrapes = async () =>
    Number((await query(`count_over_time(up{job="${SCRAPE_JOB}"}[10m])`)).data?.result?.[0]?.value?.[1] ?? 0);
  const waitScrapes = async (n: number, why: string) => {
    const deadline = Date.now() + 30_000;
    const target = (await scrapes().catch(() => 0)) + n;
    for (;;) {
      if ((await scrapes().catch(() => 0)) >= target) return;
      if (Date.now() > deadline) throw new Error(`Prometheus did not scrape the app ${why}:\n${promLog}`);
      await sleep(250);
    }
  };

  beforeAll(async () => {
    pair = await startLifecyclePair('sqlite', {
      handler: new FaqHandler(),
      simulator: { agentJoinDelayMs: 100 },
    });
    const appPort = new URL(pair.webhookUrl).port;

    dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-'));
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

    // Prometheus sees every series at 0 before the traffic, as it would a freshly started app.
    await waitScrapes(2, 'before the traffic');

    // Traffic: conversations with FAQ answers and a handover, redelivered events, a planned link
    // refresh and an unplanned loss, a signed deletion webhook and a rejected (unsigned) one.
    for (let i = 0; i < 5; i++) {
      const { conversationId } = pair.sim.startVisitorChat(`Visitor ${i}`);
      pair.sim.visitorSays(conversationId, i === 4 ? 'talk to a human' : 'how long does shipping take?');
    }
    pair.sim.hub.faults.duplicateNext = 2;
    pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V2' });
    const appMetrics = async () => (await fetch(`http://127.0.0.1:${appPort}/metrics`)).text();
    await until('replies accepted by ClickDesk', async () =>
      /^clickdesk_bot_reply_latency_seconds_count [1-9]/m.test(await appMetrics()),
    );
    pair.sim.hub.disconnect('warning');
    await until('the planned refresh', async () =>
      /^clickdesk_rtm_reconnects_total\{reason="warning"\} [1-9]/m.test(await appMetrics()),
    );
    pair.sim.hub.closeAbruptly();
    await until('a new link after the loss', async () =>
      /^clickdesk_rtm_reconnects_total\{reason="(closed_by_server|socket_error)"\} [1-9]/m.test(
        await appMetrics(),
      ),
    );
    await waitFor('links open', () => pair.app.gateway.openConnections > 0, 20_000);
    await pair.sim.webhooks.send('data_deletion.requested', {
      team_id: pair.sim.team.id,
      subject: { kind: 'visitor', id: 'V-unknown' },
    });
    const rejected = await fetch(pair.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'data_deletion.requested' }),
    });
    if (rejected.status < 400) throw new Error(`an unsigned webhook was accepted (${rejected.status})`);
    await until('the erasure job finished', async () =>
      /^clickdesk_lifecycle_job_duration_seconds_count\{event="data_deletion.requested"\} [1-9]/m.test(
        await appMetrics(),
      ),
    );
    await waitScrapes(5, 'after the traffic');
  }, 110_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    if (prom && prom.exitCode === null) await once(prom, 'exit');
    await pair?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates every dashboard query and rule without error; every dashboard query and recording rule has data', async () => {
    const registered = new Set((await new AppMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const errors: string[] = [];
    const empty: string[] = [];
    const figures = { expressions: 0, withData: 0, emptyByDesign: 0, errors: 0 };
    for (const q of kitQueries()) {
      const body = await query(q.expr);
      figures.expressions += 1;
      if (body.status !== 'success') {
        errors.push(`${q.where}: ${body.error ?? body.status}`);
        continue;
      }
      const hasData = (body.data?.result?.length ?? 0) > 0;
      if (hasData) figures.withData += 1;
      // Alert conditions are meant to be empty while all is well; everything else must have data,
      // except queries on metrics the app does not register yet (AWAITED_METRICS).
      else if (q.kind === 'alert' || metricNames(q.expr).every((n) => MAY_BE_EMPTY.includes(n)))
        figures.emptyByDesign += 1;
      else if (!metricNames(q.expr).some((n) => AWAITED_METRICS.includes(n) && !registered.has(n)))
        empty.push(q.where);
    }
    figures.errors = errors.length;
    process.stdout.write(`operator sweep: ${JSON.stringify(figures)}\n`);
    expect(errors).toEqual([]);
    expect(empty).toEqual([]);
    expect(figures.expressions).toBeGreaterThan(90);
  });

  it('sees the first event of each kind: a reconnect of each reason, the erasure, the rejected webhook', async () => {
    const value = async (q: string) => Number((await query(q)).data?.result?.[0]?.value?.[1] ?? NaN);
    const j = `job="${SCRAPE_JOB}"`;
    expect(
      await value(`sum(increase(clickdesk_rtm_reconnects_total{${j}, reason="warning"}[5m]))`),
    ).toBeGreaterThan(0);
    expect(
      await value(
        `sum(increase(clickdesk_rtm_reconnects_total{${j}, reason!~"warning|refresh_requested"}[5m]))`,
      ),
    ).toBeGreaterThan(0);
    expect(
      await value(
        `sum(increase(clickdesk_lifecycle_job_duration_seconds_count{${j}, event="data_deletion.requested"}[5m]))`,
      ),
    ).toBeGreaterThan(0);
    expect(
      await value(
        `histogram_quantile(0.95, sum by (le) (rate(clickdesk_lifecycle_job_duration_seconds_bucket{${j}, event="data_deletion.requested"}[5m])))`,
      ),
    ).toBeGreaterThan(0);
    expect(
      await value(
        `sum(increase(clickdesk_http_requests_total{${j}, route="/webhooks/clickdesk", status_class="4xx"}[5m]))`,
      ),
    ).toBeGreaterThan(0);
  });

  it('lists every contract method in the $method variable and the core panels, called or not', async () => {
    const methods = Object.keys(CONTRACT_LIMITS.perMethod).sort();
    const labels = (await (
      await fetch(`${promUrl}/api/v1/label/method/values?match[]=clickdesk_ratelimit_limit`)
    ).json()) as { data: string[] };
    expect([...labels.data].sort()).toEqual(methods);
    for (const target of dashboardQueries(DASHBOARDS[0]!).slice(0, 2)) {
      const body = await query(fill(target.expr));
      expect({
        where: target.where,
        methods: (body.data?.result ?? []).map((r) => r.metric?.method).sort(),
      }).toEqual({
        where: target.where,
        methods,
      });
    }
  });

  it("lists the app's scrape job in $job and its instance in $instance, not Prometheus's own", async () => {
    const values = async (label: string, match: string) =>
      (
        (await (
          await fetch(`${promUrl}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`)
        ).json()) as { data: string[] }
      ).data;
    expect(await values('job', 'up')).toEqual(expect.arrayContaining(['prometheus', SCRAPE_JOB]));
    const appInstance = `127.0.0.1:${new URL(pair.webhookUrl).port}`;
    for (const d of DASHBOARDS) {
      const job = /^label_values\((.+), job\)$/.exec(
        variables(d).find((v) => v.name === 'job')?.query ?? '',
      )?.[1];
      const instance = /^label_values\((.+), instance\)$/.exec(
        fill(variables(d).find((v) => v.name === 'instance')?.query ?? ''),
      )?.[1];
      expect({
        uid: d.uid,
        jobs: await values('job', job ?? ''),
        instances: await values('instance', instance ?? ''),
      }).toEqual({
        uid: d.uid,
        jobs: [SCRAPE_JOB],
        instances: [appInstance],
      });
    }
  });

  it('loads the rule files and keeps every alert quiet while the app is healthy', async () => {
    const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; state?: string; health: string }> }> };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(allRules().length);
    expect(rules.filter((r) => r.health !== 'ok' && r.health !== 'unknown')).toEqual([]);
    expect(rules.filter((r) => r.state === 'firing').map((r) => r.name)).toEqual([]);
  });
});
