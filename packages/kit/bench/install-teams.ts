import type { Simulator } from '@clickdesk-bot/sandbox';
import { loadConfig } from '../src/config/load-config';
import { ClickDeskOAuthClient } from '../src/installations/clickdesk-oauth-client';
import { silentLogger } from '../src/logging/create-logger';
import { MemoryRateStore } from '../src/rate-limit/memory-rate-store';
import { RateGovernor } from '../src/rate-limit/rate-governor';
import { openStorage, type StorageOptions } from '../src/storage/open-storage';

const REDIRECT_URI = 'http://127.0.0.1/oauth/callback';

/**
 * Installs the app in `count` teams of the simulator (its first team and new ones) the way the
 * OAuth callback would — the kit's own client exchanging a code at `oauth.v2.access`, within its
 * per-app limit — and saves each installation in the app's storage before the app starts, so a
 * bench can spread traffic over many teams (each has its own `chat.postMessage` budget) without
 * driving the consent page. Returns the team ids.
 */
export async function installTeams(
  sim: Simulator,
  storageOptions: StorageOptions,
  count: number,
): Promise<string[]> {
  const teams = [sim.team.id];
  while (teams.length < count) teams.push(sim.addTeam(`Storm Team ${teams.length + 1}`).id);
  const governor = new RateGovernor({
    limits: loadConfig({}).rate.limits,
    store: new MemoryRateStore(),
    maxQueuePerMethod: count,
    deadlineMs: { reply: 120_000, background: 120_000 },
    logger: silentLogger(),
  });
  const oauth = new ClickDeskOAuthClient({
    apiUrl: sim.apiUrl,
    clientId: sim.options.oauth.clientId,
    clientSecret: sim.options.oauth.clientSecret,
    redirectUri: () => REDIRECT_URI,
    fetchImpl: fetch,
    governor,
  });
  const storage = await openStorage(storageOptions);
  try {
    for (const teamId of teams) {
      const code = sim.oauth.issueCode(teamId, REDIRECT_URI);
      const callback = oauth.validateCallback(new URLSearchParams({ code, state: 'bench' }), 'bench');
      const grant = await oauth.exchangeCode(callback);
      await storage.installations.save({ ...grant, installedAt: Date.now() });
    }
  } finally {
    governor.close();
    await storage.close();
  }
  return teams;
}
