/**
 * `npm run installations -- <command>`: the teams that installed the app.
 *   list               team, installed, token expiry, refresh state (never a token)
 *   revoke TEAM_ID     auth.revoke at ClickDesk, then delete the installation here
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { describeError } from '../errors';
import { ClickDeskOAuthClient } from '../installations/clickdesk-oauth-client';
import { TokenRotator } from '../installations/token-rotator';
import { silentLogger } from '../logging/create-logger';
import { createEgressFetch } from '../policy/egress-fetch';
import { CONTRACT_LIMITS } from '../rate-limit/bucket-spec';
import { MemoryRateStore } from '../rate-limit/memory-rate-store';
import { RateGovernor } from '../rate-limit/rate-governor';
import { withSqlStorage } from './with-sql-storage';
import { SqlInstallationStore } from '../storage/sql/sql-installation-store';

const HELP = `Usage: npm run installations -- <command>

Commands:
  list             List the teams that installed the app: team id, when, when its bot token expires,
                   and whether a refresh is under way. Tokens are never shown.
  revoke TEAM_ID   Uninstall the app from a team: calls ClickDesk's auth.revoke with the team's token
                   (its tokens stop working), then deletes the installation here. ClickDesk then sends
                   app.uninstalled, and the app erases the team's Data as for any uninstall (Terms 6.3).

Storage and credentials come from the same environment as the app (STORAGE, DATA_DIR, DATABASE_URL,
MASTER_KEY or MASTER_KEY_FILE, CLICKDESK_API_URL, CLICKDESK_CLIENT_ID, CLICKDESK_CLIENT_SECRET);
see .env.example.
`;

const iso = (ms: number | undefined): string => (ms === undefined ? 'never' : new Date(ms).toISOString());

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const [command, teamId] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  if (command !== 'list' && command !== 'revoke') {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (command === 'revoke' && !teamId) {
    process.stderr.write('revoke needs the team id, e.g. npm run installations -- revoke T0123ABC\n');
    return 2;
  }
  const config = loadConfig();
  if (command === 'list') {
    return withSqlStorage(config, async ({ ctx }) => {
      const all = await new SqlInstallationStore(ctx).list();
      if (all.length === 0) process.stdout.write('no installations\n');
      for (const i of all) {
        process.stdout.write(
          `${i.teamId}  installed ${iso(i.installedAt)}  token expires ${iso(i.expiresAt)}${i.refreshing ? '  (refreshing)' : ''}\n`,
        );
      }
      return 0;
    });
  }
  const { apiUrl } = config.clickdesk;
  const { clientId, clientSecret } = config.oauth;
  if (!apiUrl || !clientId || !clientSecret) {
    process.stderr.write(
      'revoke needs CLICKDESK_API_URL, CLICKDESK_CLIENT_ID and CLICKDESK_CLIENT_SECRET (the same as the app)\n',
    );
    return 2;
  }
  return withSqlStorage(config, async ({ ctx }) => {
    const storage = { installations: new SqlInstallationStore(ctx) };
    const team = teamId ?? '';
    if (!(await storage.installations.get(team))) {
      process.stderr.write(`team ${team} has no installation here (see: npm run installations -- list)\n`);
      return 1;
    }
    // Like the app, the command reaches ClickDesk's API and nothing else (Terms 4.8).
    const egress = createEgressFetch([apiUrl]);
    const governor = new RateGovernor({
      limits: CONTRACT_LIMITS,
      store: new MemoryRateStore(),
      maxQueuePerMethod: 10,
      deadlineMs: { reply: 60_000, background: 60_000 },
      logger: silentLogger(),
    });
    const rotator = new TokenRotator({
      store: storage.installations,
      logger: silentLogger(),
      oauth: new ClickDeskOAuthClient({
        apiUrl,
        clientId,
        clientSecret,
        redirectUri: () => `${config.oauth.publicUrl ?? ''}/oauth/callback`,
        fetchImpl: egress,
        governor,
      }),
    });
    const revoke = async (token: string): Promise<string> => {
      const res = await egress(new URL('auth.revoke', apiUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { ok?: boolean; error?: string };
      return body.ok === true ? 'ok' : (body.error ?? `http_${res.status}`);
    };
    const token = await rotator.tokenFor(team);
    let outcome = await revoke(token);
    if (outcome === 'token_expired') outcome = await revoke(await rotator.renew(team, token));
    // Already revoked at ClickDesk (uninstalled there): nothing left but our copy.
    if (outcome !== 'ok' && outcome !== 'token_revoked' && outcome !== 'invalid_auth') {
      process.stderr.write(`ClickDesk refused auth.revoke (${outcome}); the installation was kept\n`);
      return 1;
    }
    await storage.installations.delete(team);
    process.stdout.write(
      `revoked: team ${team} (ClickDesk answered ${outcome}); its Data is erased when app.uninstalled arrives\n`,
    );
    governor.close();
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`installations: ${describeError(err).message}\n`);
    process.exit(1);
  },
);
