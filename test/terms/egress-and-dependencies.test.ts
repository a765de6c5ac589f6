import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { opensConnections, sourceFiles as files } from './source-scan';

const root = path.join(__dirname, '../..');
/** The fork's code and the engine's: both keep these terms. */
// The engine's sources are here while the fork keeps packages/ (the default); a fork on the
// published packages scans its own src/ alone.
const SOURCES = ['src', 'packages/kit/src']
  .map((dir) => path.join(root, dir))
  .filter((dir) => existsSync(dir));

const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');

/** Packages whose purpose is advertising, tracking, analytics or mass mail (Terms 4.8.2, 4.8.3). */
const FORBIDDEN = [
  /^@?segment\b/,
  /analytics/,
  /^mixpanel/,
  /^@?amplitude/,
  /^posthog/,
  /^@?heap/,
  /^@?rudderstack/,
  /^@?snowplow/,
  /^keen-/,
  /^@?google-ads/,
  /^googleads/,
  /^facebook-(nodejs-business-sdk|pixel)/,
  /^react-ga/,
  /^universal-analytics/,
  /^ga4/,
  /^matomo/,
  /^piwik/,
  /^plausible/,
  /^@?appsflyer/,
  /^adjust/,
  /^branch-sdk/,
  /^@?intercom/,
  /^hubspot/,
  /^@hubspot\//,
  /^@?mailchimp/,
  /^nodemailer/,
  /^@sendgrid\//,
  /^mailgun/,
  /^postmark/,
  /^@?sparkpost/,
  /^@?customerio/,
  /^@?braze/,
  /^@?optimizely/,
  /^@?newrelic\/browser/,
  /^@?fullstory/,
  /^@?hotjar/,
  /^tracking/,
  /^adsense/,
  /^prebid/,
];

describe('egress (Terms 4.8.2, 4.8.3)', () => {
  it('is the only way app code opens outbound connections', () => {
    // The RTM socket is opened only where the gateway's URL came from the Web API.
    const allowed = new Set([
      'packages/kit/src/policy/egress-fetch.ts',
      'packages/kit/src/clickdesk/rtm-connection.ts',
    ]);
    const offenders = SOURCES.flatMap(files)
      .filter((f) => !allowed.has(rel(f)) && opensConnections(f))
      .map(
        (f) =>
          `${rel(f)} opens a connection itself: call your services with ctx.fetch, and name their origins in defineBot({ egress })`,
      );
    expect(offenders).toEqual([]);
  });

  it('imports no advertising, analytics, tracking or mail package anywhere in src', () => {
    const imports = SOURCES.flatMap(files).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/(?:from\s+|require\()\s*'([^'.][^']*)'/g)].map((m) => ({
        file: rel(f),
        pkg: m[1] ?? '',
      })),
    );
    expect(imports.filter((i) => FORBIDDEN.some((re) => re.test(i.pkg)))).toEqual([]);
  });

  it('has no advertising, analytics, tracking or mail SDK in the installed dependency tree', () => {
    const tree = JSON.parse(
      execFileSync('npm', ['ls', '--all', '--json', '--omit=dev'], { cwd: root, encoding: 'utf8' }),
    ) as {
      dependencies?: Record<string, { dependencies?: unknown }>;
    };
    const names = new Set<string>();
    const walk = (deps: Record<string, { dependencies?: unknown }> | undefined): void => {
      for (const [name, node] of Object.entries(deps ?? {})) {
        if (names.has(name)) continue;
        names.add(name);
        walk(node.dependencies as Record<string, { dependencies?: unknown }> | undefined);
      }
    };
    walk(tree.dependencies);
    expect(names.size).toBeGreaterThan(20);
    expect([...names].filter((n) => FORBIDDEN.some((re) => re.test(n)))).toEqual([]);
  });
});
