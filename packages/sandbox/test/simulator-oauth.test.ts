import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Simulator } from '../src/simulator';

const REDIRECT = 'http://127.0.0.1:9/oauth/callback';
const OTHER_REDIRECT = 'http://127.0.0.1:9/other/callback';

describe('simulator: installation (OAuth, contract §4)', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = new Simulator({
      oauth: {
        clientId: 'cid',
        clientSecret: 'csecret',
        redirectUris: [REDIRECT, OTHER_REDIRECT],
        codeTtlMs: 600_000,
        accessTokenTtlMs: 3_600_000,
        refreshReuseMs: 300,
      },
      webhook: {
        url: undefined,
        secrets: [`whsec_${Buffer.from('0123456789abcdef0123').toString('base64')}`],
        retries: 0,
        timeoutMs: 2_000,
        retryBaseMs: 10,
      },
    });
    await sim.listen(0);
  });
  afterEach(() => sim.close());

  const authorize = (params: Record<string, string>) =>
    fetch(
      `${sim.authorizeUrl}?${new URLSearchParams({ client_id: 'cid', scope: 'chat:write', ...params })}`,
      {
        redirect: 'manual',
      },
    );
  const decide = (decision: string, fields: Record<string, string> = {}) =>
    fetch(sim.authorizeUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: 'cid',
        redirect_uri: REDIRECT,
        state: 's1',
        team_id: sim.team.id,
        decision,
        ...fields,
      }),
    });
  const codeFrom = (res: Response): string => {
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('s1');
    return location.searchParams.get('code') ?? '';
  };
  const access = async (fields: Record<string, string>, basic = true) => {
    const res = await fetch(`${sim.apiUrl}oauth.v2.access`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(basic ? { authorization: `Basic ${Buffer.from('cid:csecret').toString('base64')}` } : {}),
      },
      body: new URLSearchParams(fields),
    });
    return (await res.json()) as Record<string, unknown> & { ok: boolean; error?: string };
  };
  const install = async () => {
    const code = codeFrom(await decide('allow'));
    return access({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  };
  const call = async (method: string, token: string) => {
    const res = await fetch(`${sim.apiUrl}${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    return (await res.json()) as { ok: boolean; error?: string; team_id?: string };
  };

  it('shows a consent page with Allow and Cancel for a registered redirect URL', async () => {
    const res = await authorize({ redirect_uri: REDIRECT, state: 's1' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('id="allow"');
    expect(html).toContain('id="cancel"');
    expect(html).toContain(sim.team.id);
  });

  it('refuses an unregistered redirect URL on its own page, without redirecting', async () => {
    for (const uri of [`${REDIRECT}/x`, 'http://evil.example/cb', '']) {
      const res = await authorize({ redirect_uri: uri, state: 's1' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('not registered');
    }
    const post = await decide('allow', { redirect_uri: 'http://evil.example/cb' });
    expect(post.status).toBe(400);
    expect(post.headers.get('location')).toBeNull();
  });

  it('Cancel redirects with error=access_denied and the state', async () => {
    const res = await decide('cancel');
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('exchanges a code once, for an expiring xoxe.xoxb token and a refresh token', async () => {
    const code = codeFrom(await decide('allow'));
    const first = await access({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(first).toMatchObject({ ok: true, token_type: 'bot', team: { id: sim.team.id }, expires_in: 3600 });
    expect(String(first.access_token)).toMatch(/^xoxe\.xoxb-/);
    expect(String(first.refresh_token)).toMatch(/^xoxe-1-/);
    expect(await call('auth.test', String(first.access_token))).toMatchObject({
      ok: true,
      team_id: sim.team.id,
    });
    const again = await access({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(again).toEqual({ ok: false, error: 'code_already_used' });
  });

  it('binds a code to its redirect URL and client, and refuses bad client credentials', async () => {
    const code = codeFrom(await decide('allow'));
    expect(await access({ grant_type: 'authorization_code', code, redirect_uri: OTHER_REDIRECT })).toEqual({
      ok: false,
      error: 'bad_redirect_uri',
    });
    expect(
      await access(
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          client_id: 'cid',
          client_secret: 'no',
        },
        false,
      ),
    ).toEqual({ ok: false, error: 'invalid_client' });
    // Client credentials as fields work as well as HTTP Basic.
    const ok = await access(
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: 'cid',
        client_secret: 'csecret',
      },
      false,
    );
    expect(ok.ok).toBe(true);
    expect(await access({ grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT })).toEqual({
      ok: false,
      error: 'invalid_code',
    });
    expect(await access({ grant_type: 'password' })).toEqual({ ok: false, error: 'invalid_arguments' });
  });

  it('rotates: a new pair per refresh; a retry within the reuse interval gets the same pair; the replaced access token works until its expiry', async () => {
    const installed = await install();
    const rotated = await access({
      grant_type: 'refresh_token',
      refresh_token: String(installed.refresh_token),
    });
    expect(rotated.ok).toBe(true);
    expect(rotated.access_token).not.toBe(installed.access_token);
    expect(rotated.refresh_token).not.toBe(installed.refresh_token);
    const retried = await access({
      grant_type: 'refresh_token',
      refresh_token: String(installed.refresh_token),
    });
    expect(retried.access_token).toBe(rotated.access_token);
    expect(retried.refresh_token).toBe(rotated.refresh_token);
    expect((await call('auth.test', String(installed.access_token))).ok).toBe(true);
    expect((await call('auth.test', String(rotated.access_token))).ok).toBe(true);
  });

  it('takes a refresh token reused after the interval as theft: invalid_grant and the whole installation revoked', async () => {
    const installed = await install();
    const rotated = await access({
      grant_type: 'refresh_token',
      refresh_token: String(installed.refresh_token),
    });
    await new Promise((r) => setTimeout(r, 400));
    const late = await access({
      grant_type: 'refresh_token',
      refresh_token: String(installed.refresh_token),
    });
    expect(late).toEqual({ ok: false, error: 'invalid_grant' });
    expect(await call('auth.test', String(rotated.access_token))).toEqual({
      ok: false,
      error: 'token_revoked',
    });
    expect(
      await access({ grant_type: 'refresh_token', refresh_token: String(rotated.refresh_token) }),
    ).toEqual({
      ok: false,
      error: 'invalid_grant',
    });
  });

  it('answers token_expired once a token expires (the expire-all control), and a refresh fixes it', async () => {
    const installed = await install();
    const res = await fetch(`${sim.url}/sandbox/faults/expire-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(((await res.json()) as { result: number }).result).toBeGreaterThanOrEqual(1);
    expect(await call('chat.postMessage', String(installed.access_token))).toEqual({
      ok: false,
      error: 'token_expired',
    });
    const rotated = await access({
      grant_type: 'refresh_token',
      refresh_token: String(installed.refresh_token),
    });
    expect((await call('auth.test', String(rotated.access_token))).ok).toBe(true);
  });

  it('auth.revoke revokes the tokens and sends app.uninstalled to the app', async () => {
    const received: string[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.end('{}');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    sim.options.webhook.url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
    try {
      const installed = await install();
      expect(await call('auth.revoke', String(installed.access_token))).toMatchObject({ ok: true });
      expect(await call('auth.test', String(installed.access_token))).toEqual({
        ok: false,
        error: 'token_revoked',
      });
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(JSON.parse(received[0] ?? '{}')).toEqual({ type: 'app.uninstalled', team_id: sim.team.id });
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });

  it('installing again replaces the tokens and revokes the old ones', async () => {
    const first = await install();
    const second = await install();
    expect(await call('auth.test', String(first.access_token))).toEqual({
      ok: false,
      error: 'token_revoked',
    });
    expect((await call('auth.test', String(second.access_token))).ok).toBe(true);
    expect(
      await access({ grant_type: 'refresh_token', refresh_token: String(first.refresh_token) }),
    ).toMatchObject({
      ok: false,
    });
  });

  it('keeps several teams apart: each has its own installation, agents and visitor chats', async () => {
    const other = sim.addTeam('Second Shop');
    const code = codeFrom(await decide('allow', { team_id: other.id }));
    const tokens = await access({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(tokens).toMatchObject({ ok: true, team: { id: other.id, name: 'Second Shop' } });
    const token = String(tokens.access_token);
    expect(await call('auth.test', token)).toMatchObject({ team_id: other.id });
    const agents = (await (
      await fetch(`${sim.apiUrl}agents.list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { agents: Array<{ name: string }> };
    expect(agents.agents.map((a) => a.name)).toEqual(['Second Shop Agent', 'Second Shop Lead']);
    const chat = await fetch(`${sim.url}/visitor/api/chats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ team_id: other.id }),
    });
    const { conversation_id } = (await chat.json()) as { conversation_id: string };
    expect(sim.world.conversations.get(conversation_id)?.teamId).toBe(other.id);
    const unknown = await fetch(`${sim.url}/visitor/api/chats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ team_id: 'TNOPE' }),
    });
    expect(unknown.status).toBe(404);
  });
  it('adds a team and uninstalls one through its HTTP controls', async () => {
    const control = async (path: string, body: unknown) =>
      (await (
        await fetch(`${sim.url}/sandbox${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { ok: boolean; result: Record<string, unknown> | boolean };
    const added = await control('/teams', { name: 'Second Shop' });
    const teamId = String((added.result as Record<string, unknown>).team_id);
    expect(added.result).toMatchObject({ visitor_page: `${sim.url}/visitor/?team=${teamId}` });
    expect(sim.teamById(teamId)?.name).toBe('Second Shop');
    expect((await control('/teams', { name: '' })).ok).toBe(false);

    const installed = await install();
    expect((await control('/installations/revoke', { team_id: sim.team.id })).result).toBe(true);
    expect(await call('auth.test', String(installed.access_token))).toEqual({
      ok: false,
      error: 'token_revoked',
    });
    expect(sim.installs.isInstalled(sim.team.id)).toBe(false);
  });
});
