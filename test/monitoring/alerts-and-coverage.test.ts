import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DASHBOARDS, dashboardQueries } from '../../scripts/grafana-dashboards';
import { startLifecyclePair, type LifecyclePair } from '../../packages/kit/test/helpers/lifecycle-pair';
import { allRules, monitoring, root } from './kit-queries';

/** Labels an alert keeps: job and instance, but for the three about a whole app (alerts.yml says why). */
const KEEPS: Record<string, string[]> = {
  ClickDeskRTMSilent: ['job'],
  ClickDeskFleetLinksBelowCap: ['job'],
  ClickDeskBotMetricsAbsent: [],
};
const keeps = (alert: string | undefined) => KEEPS[alert ?? ''] ?? ['job', 'instance'];

/** GitHub's anchor of a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

describe('alerts', () => {
  const alerts = allRules().filter((r) => r.alert);

  it('each waits for:, has a severity, a summary, a description and a runbook_url into docs/runbooks.md', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(25);
    for (const a of alerts) {
      expect({
        alert: a.alert,
        for: /^\d+[smh]$/.test(a.for ?? ''),
        severity: ['warning', 'critical'].includes(a.severity ?? ''),
        summary: (a.summary ?? '').length > 10,
        description: (a.description ?? '').length > 20,
        runbook: a.runbookUrl?.startsWith('docs/runbooks.md#'),
      }).toEqual({
        alert: a.alert,
        for: true,
        severity: true,
        summary: true,
        description: true,
        runbook: true,
      });
    }
  });

  it('links each alert to a section of docs/runbooks.md that exists and says what to check and do', () => {
    const runbooks = readFileSync(path.join(root, 'docs/runbooks.md'), 'utf8');
    const sections = new Map<string, string>();
    for (const part of runbooks.split(/^## /m).slice(1)) {
      const [heading = '', ...rest] = part.split('\n');
      sections.set(anchorOf(heading), rest.join('\n'));
    }
    for (const a of alerts) {
      const anchor = (a.runbookUrl ?? '').split('#')[1] ?? '';
      const section = sections.get(anchor);
      expect({ alert: a.alert, anchor, found: section !== undefined }).toEqual({
        alert: a.alert,
        anchor,
        found: true,
      });
      expect(section).toMatch(/\*\*What it means\.\*\* \S/);
      expect(section).toMatch(/\*\*What to check\.\*\* \S/);
      expect(section).toMatch(/\*\*What to do\.\*\* \S/);
    }
    // No section for an alert that no longer exists.
    expect([...sections.keys()].sort()).toEqual(alerts.map((a) => (a.alert ?? '').toLowerCase()).sort());
  });

  it('keeps the job and instance each alert is about: aggregations keep them, or there is none', () => {
    const aggregation = /\b(sum|max|min|avg|count|topk|bottomk|quantile)\b\s*(by\s*\(([^)]*)\))?\s*\(/g;
    const keepsAll = (by: string, labels: string[]) => labels.every((l) => new RegExp(`\\b${l}\\b`).test(by));
    const losing = alerts.flatMap((a) =>
      [...a.expr.matchAll(aggregation)]
        .filter((m) => !keepsAll(m[3] ?? '', keeps(a.alert)))
        .map((m) => `${a.alert ?? ''}: ${m[0]}`),
    );
    expect(losing).toEqual([]);
    expect(alerts.filter((a) => keeps(a.alert).length === 0).map((a) => a.expr)).toEqual([
      'absent(clickdesk_rtm_connections)',
    ]);
    // A recording rule an alert reads must keep them too.
    const records = allRules().filter((r) => r.record);
    const lost = records.flatMap((r) =>
      alerts
        .filter((a) => a.expr.includes(r.record ?? ''))
        .filter((a) => !keepsAll(/by \(([^)]*)\)/.exec(r.expr)?.[1] ?? '', keeps(a.alert)))
        .map((a) => `${r.record ?? ''} in ${a.alert ?? ''}`),
    );
    expect(lost).toEqual([]);
  });

  it('uses every recording rule in an alert or a dashboard', () => {
    const queries = [
      ...allRules()
        .filter((r) => r.alert)
        .map((r) => r.expr),
      ...DASHBOARDS.flatMap((d) => dashboardQueries(d).map((q) => q.expr)),
    ].join('\n');
    const unused = allRules()
      .filter((r) => r.record && !queries.includes(r.record))
      .map((r) => r.record);
    expect(unused).toEqual([]);
  });
});

describe('every metric the app exports', () => {
  let pair: LifecyclePair;
  beforeAll(async () => {
    pair = await startLifecyclePair('sqlite');
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it('is on a dashboard or in a rule of monitoring/ (scraped from a fresh app)', async () => {
    const scrape = await request(pair.app.http).get('/metrics');
    expect(scrape.status).toBe(200);
    const exported = [...scrape.text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] ?? '');
    expect(exported.length).toBeGreaterThan(60);
    const dashboards = path.join(monitoring, 'grafana/dashboards');
    const kit = [
      ...readdirSync(dashboards).map((f) => readFileSync(path.join(dashboards, f), 'utf8')),
      ...allRules().map((r) => r.expr),
    ].join('\n');
    const unseen = exported.filter((name) => !new RegExp(`\\b${name}(_bucket|_sum|_count)?\\b`).test(kit));
    expect(unseen).toEqual([]);
  });
});
