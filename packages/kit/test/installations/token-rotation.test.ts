import { createLogger } from '../../src/logging/create-logger';
import { installThroughConsent } from '@clickdesk-bot/sandbox';
import type { Simulator } from '@clickdesk-bot/sandbox';
import { MemoryInstallationStore } from '../../src/storage/memory/memory-installation-store';
import { OAUTH, startInstallingApp, startOAuthSimulator, type InstalledApp } from '../helpers/oauth-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/** Token rotation (contract §4) seen from both sides: the app's metrics and the simulator's grants. */
describe('bot token rotation', () => {
  let sim: Simulator | undefined;
  let app: InstalledApp | undefined;
  afterEach(async () => {
    await app?.stop();
    await sim?.close();
    app = sim = undefined;
  });

  const metric = async (a: InstalledApp, name: string, labels: string): Promise<number> => {
    const text = await a.app.metrics.registry.getSingleMetricAsString(name);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return Number(line?.split(' ').pop() ?? 'NaN');
  };
  const botLines = (s: Simulator, conversationId: string) =>
    s.world.history(conversationId).filter((m) => m.sender.kind === 'bot');

  it('refreshes every token ahead of its expiry, so calls never meet an expired one', async () => {
    sim = await startOAuthSimulator({
      oauth: {
        ...OAUTH,
        redirectUris: [],
        codeTtlMs: 60_000,
        accessTokenTtlMs: 1_200,
        refreshReuseMs: 60_000,
      },
    });
    const store = new MemoryInstallationStore();
    app = await startInstallingApp(sim, { installations: { store, rotation: { sweepMs: 50 } } });
    expect((await installThroughConsent(app.url, sim.team.id)).status).toBe(200);
    const s = sim;
    await waitFor('three rotations', () => s.oauth.grants.issued >= 3, 10_000);
    const { conversationId } = sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(s, conversationId).length === 1);
    await app.stop();
    const a = app;
    app = undefined;
    expect(await metric(a, 'clickdesk_token_refreshes_total', 'outcome="ok"')).toBe(sim.oauth.grants.issued);
    expect(sim.oauth.grants.invalid_grant).toBe(0);
    expect(sim.oauth.grants.replayed).toBe(0);
    expect(
      await metric(a, 'clickdesk_api_requests_total', 'method="chat.postMessage",outcome="token_expired"'),
    ).toBe(0); // present from the start, never counted
  });

  it('on token_expired refreshes once and retries the call, and the visitor gets the answer', async () => {
    sim = await startOAuthSimulator();
    app = await startInstallingApp(sim);
    await installThroughConsent(app.url, sim.team.id);
    expect(sim.oauth.expireAll()).toBe(1);
    const { conversationId } = sim.startVisitorChat('Ada');
    const s = sim;
    await waitFor('greeting', () => botLines(s, conversationId).length === 1);
    await sleep(100); // the answer to chat.postMessage is observed just after ClickDesk posted it
    expect(sim.oauth.grants.issued).toBe(1);
    expect(
      await metric(app, 'clickdesk_api_requests_total', 'method="chat.postMessage",outcome="token_expired"'),
    ).toBe(1);
    expect(await metric(app, 'clickdesk_api_requests_total', 'method="chat.postMessage",outcome="ok"')).toBe(
      1,
    );
    expect(await metric(app, 'clickdesk_token_refreshes_total', 'outcome="ok"')).toBe(1);
  });

  it('a refresh token reused after the reuse interval: ClickDesk revokes the installation, the app stops using it and says so', async () => {
    sim = await startOAuthSimulator({
      oauth: {
        ...OAUTH,
        redirectUris: [],
        codeTtlMs: 60_000,
        accessTokenTtlMs: 3_600_000,
        refreshReuseMs: 200,
      },
    });
    const store = new MemoryInstallationStore();
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    app = await startInstallingApp(sim, { installations: { store }, app: { logger } });
    await installThroughConsent(app.url, sim.team.id);
    const held = await store.get(sim.team.id);
    // A copy of the refresh token is used elsewhere first (a leaked backup, say)...
    const thief = await fetch(`${sim.apiUrl}oauth.v2.access`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: held?.refreshToken ?? '',
        client_id: OAUTH.clientId,
        client_secret: OAUTH.clientSecret,
      }),
    });
    expect(((await thief.json()) as { ok: boolean }).ok).toBe(true);
    await sleep(300);
    // ...so when the app presents it, later than the reuse interval, ClickDesk takes it as theft.
    sim.oauth.expireAll();
    const { conversationId } = sim.startVisitorChat('Ada');
    const a = app;
    await waitFor('revocation', () => lines.some((l) => l.includes('ClickDesk revoked this installation')));
    expect(sim.oauth.grants.invalid_grant).toBe(1);
    expect(await store.get(sim.team.id)).toBeUndefined();
    expect(await metric(a, 'clickdesk_token_refreshes_total', 'outcome="invalid_grant"')).toBe(1);
    expect(botLines(sim, conversationId)).toHaveLength(0);
    const log = lines.find((l) => l.includes('ClickDesk revoked this installation')) ?? '';
    expect(JSON.parse(log)).toMatchObject({ level: 50, teamId: sim.team.id });
    expect(lines.join('\n')).not.toContain(held?.refreshToken ?? 'never');
    // From now on the team's events are acknowledged and dropped, not handled with a dead token.
    const before = await metric(a, 'clickdesk_events_dropped_total', 'reason="not_installed"');
    const calls = sim.counters.apiCalls['chat.postMessage'] ?? 0;
    const acked = sim.counters.eventsAcked;
    const next = sim.startVisitorChat('Bob');
    const s = sim;
    await waitFor('ack', () => s.counters.eventsAcked > acked);
    await sleep(100);
    expect(await metric(a, 'clickdesk_events_dropped_total', 'reason="not_installed"')).toBeGreaterThan(
      before,
    );
    expect(botLines(sim, next.conversationId)).toHaveLength(0);
    expect(sim.counters.apiCalls['chat.postMessage'] ?? 0).toBe(calls);
  });
});
