import type { Simulator } from '@clickdesk-bot/sandbox';
import { openStorage, type StorageOptions } from '../src/storage/open-storage';

const REDIRECT_URI = 'http://127.0.0.1/oauth/callback';

/**
 * Installs the app in `count` teams of the simulator (its first team and new ones) the way the
 * OAuth callback would — a code exchanged at `oauth.v2.access` — and saves each installation in
 * the app's storage before the app starts, so a bench can spread traffic over many teams (each
 * has its own `chat.postMessage` budget) without driving the consent page. Returns the team ids.
 */
export async function installTeams(
  sim: Simulator,
  storageOptions: StorageOptions,
  count: number,
): Promise<string[]> {
  const teams = [sim.team.id];
  while (teams.length < count) teams.push(sim.addTeam(`Storm Team ${teams.length + 1}`).id);
  const storage = await openStorage(storageOptions);
  try {
    for (const teamId of teams) {
      const code = sim.oauth.issueCode(teamId, REDIRECT_URI);
      const exchange = (): Promise<Response> =>
        fetch(new URL('oauth.v2.access', sim.apiUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            client_id: sim.options.oauth.clientId,
            client_secret: sim.options.oauth.clientSecret,
            grant_type: 'authorization_code',
            code,
            redirect_uri: REDIRECT_URI,
          }),
        });
      let res = await exchange();
      // 20 exchanges a minute per app (contract §1): more teams wait for the window.
      while (res.status === 429) {
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
        res = await exchange();
      }
      const grant = (await res.json()) as Record<string, unknown> & {
        ok: boolean;
        error?: string;
        team: { id: string; name: string };
        installer: { id: string };
      };
      if (!grant.ok) throw new Error(`installing ${teamId}: oauth.v2.access said ${grant.error}`);
      const now = Date.now();
      await storage.installations.save({
        teamId,
        teamName: grant.team.name,
        appId: String(grant.app_id),
        botUserId: String(grant.bot_user_id),
        installerId: grant.installer.id,
        scope: String(grant.scope),
        accessToken: String(grant.access_token),
        refreshToken: typeof grant.refresh_token === 'string' ? grant.refresh_token : undefined,
        expiresAt: typeof grant.expires_in === 'number' ? now + grant.expires_in * 1000 : undefined,
        installedAt: now,
        updatedAt: now,
      });
    }
  } finally {
    await storage.close();
  }
  return teams;
}
