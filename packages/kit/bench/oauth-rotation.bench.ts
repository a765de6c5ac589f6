import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createBotApp, type BotApp } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import { silentLogger } from '../src/logging/create-logger';
import { installThroughConsent } from '@clickdesk-bot/sandbox';
import { Simulator } from '@clickdesk-bot/sandbox';
import { generateMasterKeyText } from '../src/storage/crypto/master-keys';
import { openStorage, type Storage } from '../src/storage/open-storage';
import type { BenchReport } from './report';

export interface OAuthLoadOptions {
  teams: number;
  durationMs: number;
  /** The simulator's access-token lifetime: each team's token must be rotated this often at least. */
  tokenTtlMs: number;
  instances: number;
  /** A new visitor chat (round-robin over the teams) this often; each must get the bot's greeting. */
  chatEveryMs: number;
  databaseUrl: string;
  sweepMs?: number;
}

export interface OAuthLoadResult {
  teams: number;
  seconds: number;
  chats: number;
  repliesMissing: number;
  authFailures: number;
  tokenExpiredAnswers: number;
  refreshesByApp: number;
  grantsIssued: number;
  grantsReplayed: number;
  invalidGrant: number;
  installationsLeft: number;
  rotationsPerTeam: { min: number; max: number };
}

/**
 * Many teams, expiring tokens, several app instances on one PostgreSQL: every team installs
 * through the real flow, chats run across all teams while ClickDesk's tokens expire every
 * `tokenTtlMs`, and the figures that matter are counted on both sides — invalid_grant (an
 * installation lost), replies failed for auth, and refreshes against ClickDesk's own count.
 */
export async function runOAuthLoad(
  opts: OAuthLoadOptions,
  progress: (line: string) => void = () => undefined,
): Promise<OAuthLoadResult> {
  const schema = `oauth_${randomBytes(5).toString('hex')}`;
  await admin(opts.databaseUrl, `CREATE SCHEMA ${schema}`);
  const masterKey = generateMasterKeyText();
  const sim = new Simulator({
    agentJoinDelayMs: -1,
    limits: { 'oauth.v2.access': 1_000_000 },
    oauth: {
      clientId: 'load-client',
      clientSecret: 'load-client-secret-0123',
      redirectUris: [],
      codeTtlMs: 600_000,
      accessTokenTtlMs: opts.tokenTtlMs,
      refreshReuseMs: 60_000,
    },
  });
  await sim.listen(0);
  const grantsByTeam = new Map<string, number>();
  const refresh = sim.oauth.refresh.bind(sim.oauth);
  sim.oauth.refresh = (token) => {
    const grant = refresh(token);
    if (grant.ok) grantsByTeam.set(grant.teamId, (grantsByTeam.get(grant.teamId) ?? 0) + 1);
    return grant;
  };
  const teams = [sim.team.id];
  while (teams.length < opts.teams) teams.push(sim.addTeam(`Load Team ${teams.length + 1}`).id);

  const storages: Storage[] = [];
  const apps: Array<{ app: BotApp; server: Server; url: string }> = [];
  try {
    for (let i = 0; i < opts.instances; i++) {
      const storage = await openStorage({
        kind: 'postgres',
        dataDir: '',
        databaseUrl: opts.databaseUrl,
        pgSchema: schema,
        masterKeys: { key: masterKey, previous: [] },
      });
      storages.push(storage);
      apps.push(await startInstance(sim, storage, opts.sweepMs ?? 500));
    }
    progress(`installing ${teams.length} teams through the consent page`);
    for (const [i, teamId] of teams.entries()) {
      const via = apps[i % apps.length]!;
      const done = await installThroughConsent(via.url, teamId);
      if (done.status !== 200) throw new Error(`installing ${teamId} failed with ${done.status}`);
    }
    for (const [teamId] of grantsByTeam) grantsByTeam.set(teamId, 0);
    const issuedAtStart = sim.oauth.grants.issued;

    progress(
      `chats across all teams for ${Math.round(opts.durationMs / 1000)} s, tokens expiring every ${opts.tokenTtlMs / 1000} s`,
    );
    const conversations: string[] = [];
    const started = Date.now();
    let next = 0;
    while (Date.now() - started < opts.durationMs) {
      const teamId = teams[next++ % teams.length]!;
      conversations.push(sim.startVisitorChat(`Visitor ${next}`, '', '', teamId).conversationId);
      await new Promise((r) => setTimeout(r, opts.chatEveryMs));
    }
    const seconds = (Date.now() - started) / 1000;
    const settle = Date.now() + 15_000;
    while (conversations.some((c) => sim.world.countBy(c, 'bot') === 0) && Date.now() < settle)
      await new Promise((r) => setTimeout(r, 50));

    // Rotation stops (refreshes in flight finish) before anything is counted: the app's count and
    // ClickDesk's must be read at one quiet moment, not while tokens keep rotating.
    for (const { app } of apps) await app.tokens?.stop();
    let authFailures = 0;
    let tokenExpired = 0;
    let refreshes = 0;
    for (const { app } of apps) {
      const api = await app.metrics.apiRequests.get();
      for (const v of api.values) {
        if (v.labels.outcome === 'auth_error') authFailures += v.value;
        if (v.labels.outcome === 'token_expired') tokenExpired += v.value;
      }
      const r = await app.metrics.installations.refreshes.get();
      refreshes += r.values.find((v) => v.labels.outcome === 'ok')?.value ?? 0;
    }
    const rotations = teams.map((t) => grantsByTeam.get(t) ?? 0);
    return {
      teams: teams.length,
      seconds,
      chats: conversations.length,
      repliesMissing: conversations.filter((c) => sim.world.countBy(c, 'bot') === 0).length,
      authFailures,
      tokenExpiredAnswers: tokenExpired,
      refreshesByApp: refreshes,
      grantsIssued: sim.oauth.grants.issued - issuedAtStart,
      grantsReplayed: sim.oauth.grants.replayed,
      invalidGrant: sim.oauth.grants.invalid_grant,
      installationsLeft: (await storages[0]!.installations.list()).length,
      rotationsPerTeam: { min: Math.min(...rotations), max: Math.max(...rotations) },
    };
  } finally {
    for (const { app, server } of apps) {
      await app.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    for (const s of storages) await s.close();
    await sim.close();
    await admin(opts.databaseUrl, `DROP SCHEMA ${schema} CASCADE`);
  }
}

async function startInstance(
  sim: Simulator,
  storage: Storage,
  sweepMs: number,
): Promise<{ app: BotApp; server: Server; url: string }> {
  const config = loadConfig({});
  let url = '';
  const app = createBotApp({
    config: {
      ...config,
      rtm: { ...config.rtm, connections: 2 },
      rate: {
        ...config.rate,
        limits: {
          ...config.rate.limits,
          perMethod: { ...config.rate.limits.perMethod, 'oauth.v2.access': 1_000_000 },
        },
      },
    },
    clickdesk: { apiUrl: sim.apiUrl, appToken: sim.options.appToken },
    logger: silentLogger(),
    // The benchmark's own bot: it greets every chat, so every chat spends a bot token.
    handler: {
      handle: async ({ event }, ctx) => {
        if (event.type === 'conversation_started') await ctx.reply('Hello! How can I help?');
      },
    },
    inbox: storage.inbox,
    conversations: storage.conversations,
    messages: storage.messages,
    profiles: storage.profiles,
    installations: {
      store: storage.installations,
      usedStates: storage.usedStates,
      clientId: sim.options.oauth.clientId,
      clientSecret: sim.options.oauth.clientSecret,
      publicUrl: () => url,
      rotation: { sweepMs },
    },
  });
  const server = app.http.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sim.options.oauth.redirectUris.push(`${url}/oauth/callback`);
  await app.start();
  return { app, server, url };
}

async function admin(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function oauthRotationBenchmark(
  opts: OAuthLoadOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const r = await runOAuthLoad(opts, progress);
  return {
    name: `OAuth rotation: ${r.teams} teams, ${opts.instances} instances on PostgreSQL, tokens expiring every ${opts.tokenTtlMs / 1000} s`,
    rows: [
      { label: 'seconds of traffic', value: r.seconds },
      { label: 'chats started', value: r.chats },
      { label: 'replies missing', value: r.repliesMissing },
      { label: 'replies failed for auth', value: r.authFailures },
      { label: 'token_expired answers (retried)', value: r.tokenExpiredAnswers },
      { label: 'invalid_grant', value: r.invalidGrant },
      { label: 'refreshes committed by the app', value: r.refreshesByApp },
      { label: 'refreshes issued by ClickDesk', value: r.grantsIssued },
      { label: 'refresh tokens presented twice', value: r.grantsReplayed },
      { label: 'rotations per team, min', value: r.rotationsPerTeam.min },
      { label: 'rotations per team, max', value: r.rotationsPerTeam.max },
      { label: 'installations left', value: r.installationsLeft },
    ],
    notes: [
      `expected rotations per team ≈ traffic time / (token lifetime / 2) = ${(r.seconds / (opts.tokenTtlMs / 2000)).toFixed(1)}`,
      'oauth.v2.access limit raised in both the simulator and the governor: the contract allows 20 per app per minute',
    ],
  };
}
