import { consentRedirect } from '@clickdesk-bot/sandbox';
import type { Simulator } from '@clickdesk-bot/sandbox';
import { createLogger } from '../../src/logging/create-logger';
import { MemoryInstallationStore } from '../../src/storage/memory/memory-installation-store';
import { startInstallingApp, startOAuthSimulator, type InstalledApp } from '../helpers/oauth-pair';

/** Deterministic pseudo-random numbers, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = [
  '',
  '%',
  '%zz',
  '%C0%80',
  '%00',
  '%E0%A4%A',
  '..',
  'a.b.c',
  'x'.repeat(3000),
  '<script>',
  '"\'',
  '\u202e',
  'T1.deadbeef',
  '1.2.3',
  '%%%',
  '+',
  '&',
  '=',
  '%26',
  '%3D',
  '[]',
  'a[b]=c',
  '__proto__',
];
/** What a browser can put in a Cookie header (no character above U+00FF). */
const COOKIE_HOSTILE = HOSTILE.filter((v) => /^[\x20-\xff]*$/.test(v));
const NAMES = ['state', 'code', 'error', 'error_description', 'iss', 'state[]', 'code[x]', '', '%zz', 'team'];

describe('GET /install and GET /oauth/callback: hostile input', () => {
  let sim: Simulator;
  let app: InstalledApp;
  let store: MemoryInstallationStore;
  let logs: Array<{ level: number; msg: string }>;
  let exchanges: number;
  beforeEach(async () => {
    sim = await startOAuthSimulator();
    exchanges = 0;
    const exchange = sim.oauth.exchangeCode.bind(sim.oauth);
    sim.oauth.exchangeCode = (...args) => {
      exchanges += 1;
      return exchange(...args);
    };
    logs = [];
    store = new MemoryInstallationStore();
    app = await startInstallingApp(sim, {
      installations: { store },
      app: {
        logger: createLogger('debug', {
          write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }),
        }),
      },
    });
  });
  afterEach(async () => {
    await app.stop();
    await sim.close();
  });

  const get = (path: string, cookie?: string) =>
    fetch(`${app.url}${path}`, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
  const errorLogs = () => logs.filter((l) => l.level >= 50).map((l) => l.msg);
  const expectPlainRefusal = async (res: Response, status = 400) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<h1>[^<]+<\/h1>.*Nothing was installed\./s);
  };

  it('answers a malformed state cookie (%zz, %, %C0%80) with 400 and logs no error', async () => {
    for (const bad of ['%zz', '%', '%C0%80', '%E0%A4%A']) {
      const { callback } = await consentRedirect(app.url, sim.team.id);
      const res = await fetch(callback, { redirect: 'manual', headers: { cookie: `cdbs_install=${bad}` } });
      await expectPlainRefusal(res);
    }
    expect(errorLogs()).toEqual([]);
    expect(exchanges).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  it('refuses a repeated state, code or error with 400 without spending the state or calling ClickDesk', async () => {
    const { callback, cookie } = await consentRedirect(app.url, sim.team.id);
    const url = new URL(callback);
    for (const name of ['state', 'code', 'error']) {
      const twice = new URL(url);
      twice.searchParams.append(name, twice.searchParams.get(name) ?? 'access_denied');
      await expectPlainRefusal(await get(twice.pathname + twice.search, cookie));
    }
    expect(exchanges).toBe(0);
    // The state was not spent: the browser's genuine callback still installs.
    expect((await get(url.pathname + url.search, cookie)).status).toBe(200);
    expect((await store.list()).map((i) => i.teamId)).toEqual([sim.team.id]);
    expect(errorLogs()).toEqual([]);
  });

  it('refuses a valid state with no code (or a code that cannot be one) with 400, state unspent, no permit', async () => {
    const { callback, cookie } = await consentRedirect(app.url, sim.team.id);
    const url = new URL(callback);
    const state = url.searchParams.get('state') ?? '';
    for (const query of [
      `state=${encodeURIComponent(state)}`,
      `state=${encodeURIComponent(state)}&code=`,
      `state=${encodeURIComponent(state)}&code=${'x'.repeat(300)}`,
      `state=${encodeURIComponent(state)}&code=a%20b`,
      `state=${encodeURIComponent(state)}&code=abc&error=access_denied`,
    ]) {
      const res = await get(`/oauth/callback?${query}`, cookie);
      await expectPlainRefusal(res);
    }
    expect(exchanges).toBe(0);
    const used = (await app.app.governor.snapshot()).find((b) => b.method === 'oauth.v2.access')?.used;
    expect(used).toBe(0);
    expect((await get(url.pathname + url.search, cookie)).status).toBe(200);
    expect(exchanges).toBe(1);
  });

  it('refuses to install a grant for a reserved team id (*): nothing is stored', async () => {
    const exchange = sim.oauth.exchangeCode.bind(sim.oauth);
    // ClickDesk's answer names team `*`, which would collide with the app's own rows.
    sim.oauth.exchangeCode = (...args) => {
      const grant = exchange(...args);
      return grant.ok ? { ...grant, teamId: '*' } : grant;
    };
    const { callback, cookie } = await consentRedirect(app.url, sim.team.id);
    const res = await fetch(callback, { redirect: 'manual', headers: { cookie } });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('invalid_response');
    expect(await store.list()).toEqual([]);
    expect(errorLogs()).toEqual([]);
  });

  it('fuzz: 300 random callbacks and install pages answer 2xx/4xx with a plain page, never 5xx or an error log', async () => {
    const { cookie } = await consentRedirect(app.url, sim.team.id);
    const random = prng(22);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    for (let i = 0; i < 300; i++) {
      const pairs = Array.from({ length: Math.floor(random() * 5) }, () => `${pick(NAMES)}=${pick(HOSTILE)}`);
      const query = pairs.join(random() < 0.2 ? ';' : '&');
      const jar =
        random() < 0.5
          ? cookie
          : `cdbs_install=${pick(COOKIE_HOSTILE)}; ${pick(NAMES)}=${pick(COOKIE_HOSTILE)}`;
      const path = random() < 0.8 ? '/oauth/callback' : '/install';
      const res = await get(`${path}?${query}`, jar);
      const body = await res.text();
      const where = `${path}?${query} with cookie ${jar}`;
      expect([where, res.status < 500]).toEqual([where, true]);
      if (path === '/oauth/callback') expect([where, res.status]).toEqual([where, 400]);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(body).toMatch(/<h1>/);
    }
    expect(errorLogs()).toEqual([]);
    expect(exchanges).toBe(0);
    expect(await store.list()).toEqual([]);
  }, 60_000);
});
