/**
 * The Grafana dashboards of monitoring/grafana/dashboards/, built with Grafana's own
 * dashboards-as-code library (scripts/dashboards/*). `npm run dashboards` writes the JSON files;
 * `--check` only compares; a test fails if the committed JSON drifts from what is built here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { apiLimits } from './dashboards/api-limits';
import { bot } from './dashboards/bot';
import { connectionHealth } from './dashboards/connection-health';
import { dataLifecycle } from './dashboards/data-lifecycle';
import { processDashboard } from './dashboards/process';

/** The API-limits dashboard first: calls against limits is the core view (Terms 4.9). */
export const DASHBOARDS: Dashboard[] = [apiLimits, connectionHealth, bot, dataLifecycle, processDashboard];

/**
 * Metrics a dashboard may chart before AppMetrics registers them (work landing in steps); the
 * kit's tests accept these unregistered and without data. Empty: every charted metric exists.
 */
export const AWAITED_METRICS: readonly string[] = [];

export function dashboardFile(d: Dashboard): string {
  return path.join(__dirname, '..', 'monitoring', 'grafana', 'dashboards', `${d.uid ?? d.title}.json`);
}

export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every PromQL expression of a dashboard, with where it is. */
export function dashboardQueries(d: Dashboard): Array<{ where: string; expr: string }> {
  return (d.panels ?? []).flatMap((p) => {
    const targets = 'targets' in p ? ((p.targets ?? []) as Array<{ expr?: string }>) : [];
    const title = 'title' in p ? (p.title ?? '') : '';
    return targets.map((t) => ({ where: `${d.uid ?? ''} › ${title}`, expr: t.expr ?? '' }));
  });
}

const HELP = `Usage: npm run dashboards [-- --check | --help]

Builds the Grafana dashboards from scripts/dashboards/*.ts (Grafana's foundation SDK) and
writes them to monitoring/grafana/dashboards/*.json, which are committed.

  (no option)  write the JSON files
  --check      write nothing; exit 1 and name each file that differs from what the code builds
  --help, -h   print this help and change nothing
`;

function main(args: string[]): number {
  const unknown = args.filter((a) => !['--check', '--help', '-h'].includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown option ${unknown.join(' ')}.\n\n${HELP}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const check = args.includes('--check');
  let drifted = 0;
  for (const d of DASHBOARDS) {
    const file = dashboardFile(d);
    const rel = path.relative(process.cwd(), file);
    const want = renderDashboard(d);
    if (check) {
      let have = '';
      try {
        have = readFileSync(file, 'utf8');
      } catch {
        // missing counts as drift
      }
      if (have !== want) {
        drifted += 1;
        process.stderr.write(`${rel} differs from scripts/dashboards; run npm run dashboards\n`);
      }
    } else {
      writeFileSync(file, want);
      process.stdout.write(`wrote ${rel}\n`);
    }
  }
  if (check && drifted === 0) process.stdout.write(`${DASHBOARDS.length} dashboards up to date\n`);
  return drifted > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
