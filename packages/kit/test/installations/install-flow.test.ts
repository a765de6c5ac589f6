import { consentRedirect, installThroughConsent } from '@clickdesk-bot/sandbox';
import type { Simulator } from '@clickdesk-bot/sandbox';
import { MemoryInstallationStore } from '../../src/storage/memory/memory-installation-store';
import { startInstallingApp, startOAuthSimulator, type InstalledApp } from '../helpers/oauth-pair';
import { waitFor } from '../helpers/wait-for';

/** The install flow (contract §4) from the installing admin's side, against the simulator. */
describe('GET /install and GET /oauth/callback', () => {
  let sim: Simulator;
  let app: InstalledApp;
  let store: MemoryInstallationStore;
  let clock = 0;
  beforeEach(async () => {
    clock = 0;
    sim = await startOAuthSimulator();
    store = new MemoryInstallationStore();
    app = await startInstallingApp(sim, { installations: { store, now: () => Date.now() + clock } });
  });
  afterEach(async () => {
    await app.stop();
    await sim.close();
  });

  const callback = (url: string, cookie: string) => fetch(url, { redirect: 'manual', headers: { cookie } });
  const botLines = (conversationId: string) =>
    sim.world.history(conversationId).filter((m) => m.sender.kind === 'bot');

  it('shows an "Add to ClickDesk" page whose link carries a signed state and sets a browser cookie', async () => {
    const res = await fetch(`${app.url}/install`);
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^cdbs_install=[^;]+;.*HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const page = await res.text();
    const href = /id="add-to-clickdesk" href="([^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&') ?? '';
    const url = new URL(href);
    expect(url.origin + url.pathname).toBe(sim.authorizeUrl);
    expect(url.searchParams.get('client_id')).toBe('test-client');
    expect(url.searchParams.get('redirect_uri')).toBe(`${app.url}/oauth/callback`);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]+\.\d+\.[\w-]+$/);
  });

  it("installs through consent, stores the team's rotating tokens, and the bot then answers that team", async () => {
    const done = await installThroughConsent(app.url, sim.team.id);
    expect(done.status).toBe(200);
    expect(done.page).toContain(`installed in ${sim.team.name}`);
    const inst = await store.get(sim.team.id);
    expect(inst?.accessToken).toMatch(/^xoxe\.xoxb-/);
    expect(inst?.refreshToken).toMatch(/^xoxe-1-/);
    expect(inst?.expiresAt).toBeGreaterThan(Date.now());
    const { conversationId } = sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(conversationId).length === 1);
  });

  it('answers access_denied (Cancel) with a clear page and installs nothing', async () => {
    const done = await installThroughConsent(app.url, sim.team.id, 'cancel');
    expect(done.status).toBe(403);
    expect(done.page).toContain('You chose Cancel');
    expect(await store.list()).toEqual([]);
  });

  it('refuses a replayed state: the second visit of the same callback changes nothing', async () => {
    const { callback: url, cookie } = await consentRedirect(app.url, sim.team.id);
    expect((await callback(url, cookie)).status).toBe(200);
    const first = (await store.get(sim.team.id))?.accessToken;
    const replay = await callback(url, cookie);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('This install link was already used');
    expect((await store.get(sim.team.id))?.accessToken).toBe(first);
  });

  it('refuses a state older than 10 minutes', async () => {
    const { callback: url, cookie } = await consentRedirect(app.url, sim.team.id);
    clock = 10 * 60_000 + 1_000;
    const res = await callback(url, cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('expired');
    expect(await store.list()).toEqual([]);
  });

  it('refuses a callback from another browser (no state cookie) and a forged state', async () => {
    const { callback: url, cookie } = await consentRedirect(app.url, sim.team.id);
    const other = await callback(url, '');
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('another browser');
    const forged = new URL(url);
    forged.searchParams.set('state', `${forged.searchParams.get('state') ?? ''}x`);
    const bad = await callback(forged.toString(), cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('does not come from an install started here');
    for (const hostile of ['', '..', 'a.b.c.d', '<script>.1.x', 'x'.repeat(5000)]) {
      const res = await callback(
        `${app.url}/oauth/callback?code=c&state=${encodeURIComponent(hostile)}`,
        cookie,
      );
      expect(res.status).toBe(400);
    }
    expect(await store.list()).toEqual([]);
  });

  it('says so when a code is used twice, keeping the installation it made', async () => {
    const first = await consentRedirect(app.url, sim.team.id);
    expect((await callback(first.callback, first.cookie)).status).toBe(200);
    const kept = (await store.get(sim.team.id))?.accessToken;
    // A fresh, valid state from this browser, carrying the already-used code.
    const second = await consentRedirect(app.url, sim.team.id, 'cancel');
    const reuse = new URL(second.callback);
    reuse.searchParams.delete('error');
    reuse.searchParams.set('code', new URL(first.callback).searchParams.get('code') ?? '');
    const res = await callback(reuse.toString(), second.cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This authorization was already used');
    expect((await store.get(sim.team.id))?.accessToken).toBe(kept);
  });

  it("refuses an unregistered redirect URL on ClickDesk's page, and explains a code bound to another URL", async () => {
    await expect(consentRedirect(app.url, sim.team.id, 'allow', `${app.url}/elsewhere`)).rejects.toThrow(
      /did not redirect \(400\)/,
    );
    const other = 'http://127.0.0.1:9/registered-elsewhere';
    sim.options.oauth.redirectUris.push(other);
    const sent = await consentRedirect(app.url, sim.team.id, 'allow', other);
    const toApp = new URL(`${app.url}/oauth/callback`);
    toApp.search = new URL(sent.callback).search;
    const res = await callback(toApp.toString(), sent.cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('PUBLIC_URL');
    expect(await store.list()).toEqual([]);
  });

  it('installing again replaces the tokens; the old ones stop working at ClickDesk', async () => {
    await installThroughConsent(app.url, sim.team.id);
    const before = await store.get(sim.team.id);
    await installThroughConsent(app.url, sim.team.id);
    const after = await store.get(sim.team.id);
    expect(after?.accessToken).not.toBe(before?.accessToken);
    expect(sim.oauth.checkAccess(before?.accessToken ?? '').status).toBe('revoked');
    expect(sim.oauth.checkAccess(after?.accessToken ?? '').status).toBe('ok');
  });

  it('acknowledges, drops and counts the events of a team that has not installed the app', async () => {
    await installThroughConsent(app.url, sim.team.id);
    const stranger = sim.addTeam('Not Installed');
    const acked = sim.counters.eventsAcked;
    const { conversationId } = sim.startVisitorChat('Eve', '', '', stranger.id);
    sim.visitorSays(conversationId, 'hello?');
    await waitFor('acks', () => sim.counters.eventsAcked >= acked + 2);
    const metrics = await app.app.metrics.registry.getSingleMetricAsString('clickdesk_events_dropped_total');
    expect(metrics).toMatch(/reason="not_installed"} [2-9]/);
    expect(botLines(conversationId)).toHaveLength(0);
    // The installed team is still served.
    const served = sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(served.conversationId).length === 1);
  });
});
