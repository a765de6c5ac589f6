import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { startOAuthSimulator } from '../helpers/oauth-pair';
import { OAUTH } from '../helpers/oauth-constants';
import { storageFixture } from '../helpers/storage-fixtures';

const root = path.join(__dirname, '../..');
const cli = path.join(root, 'src/cli/installations.ts');
const run = (
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });

describe('npm run installations', () => {
  it('explains itself with --help and refuses unknown commands', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', cli, '--help'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/list[\s\S]*revoke TEAM_ID[\s\S]*auth\.revoke/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', cli, 'wipe'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command "wipe"');
  });

  it('lists installations without tokens, and revokes one at ClickDesk and here', async () => {
    const fx = await storageFixture('sqlite');
    const sim = await startOAuthSimulator();
    try {
      sim.options.oauth.redirectUris.push('http://127.0.0.1:9/oauth/callback');
      const grant = sim.oauth.exchangeCode(
        sim.oauth.issueCode(sim.team.id, 'http://127.0.0.1:9/oauth/callback'),
        'http://127.0.0.1:9/oauth/callback',
      );
      if (!grant.ok) throw new Error(grant.error);
      const storage = await fx.open();
      await storage.installations.save({
        teamId: sim.team.id,
        teamName: 'Sandbox Team',
        appId: 'A1',
        botUserId: 'B1',
        installerId: 'U1',
        scope: 'chat:write',
        accessToken: grant.pair.access_token,
        refreshToken: grant.pair.refresh_token,
        expiresAt: Date.now() + 3_600_000,
        installedAt: Date.now(),
        updatedAt: Date.now(),
      });
      await storage.close();
      const env = {
        DATA_DIR: fx.dataDir,
        MASTER_KEY: fx.masterKey,
        CLICKDESK_API_URL: sim.apiUrl,
        CLICKDESK_APP_TOKEN: sim.options.appToken,
        CLICKDESK_CLIENT_ID: OAUTH.clientId,
        CLICKDESK_CLIENT_SECRET: OAUTH.clientSecret,
        PUBLIC_URL: 'http://127.0.0.1:9',
        WEBHOOK_SECRETS: `whsec_${randomBytes(32).toString('base64')}`,
      };
      const list = await run(['list'], env);
      expect(list.status).toBe(0);
      expect(list.stdout).toContain(sim.team.id);
      expect(list.stdout).not.toContain('xoxe');

      expect((await run(['revoke'], env)).status).toBe(2);
      const missing = await run(['revoke', 'TNOTHERE'], env);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('no installation');

      const revoked = await run(['revoke', sim.team.id], env);
      expect(revoked.stderr).toBe('');
      expect(revoked.status).toBe(0);
      expect(revoked.stdout).toContain(`revoked: team ${sim.team.id}`);
      expect(sim.oauth.isInstalled(sim.team.id)).toBe(false);
      expect(sim.oauth.checkAccess(grant.pair.access_token).status).toBe('revoked');
      expect((await run(['list'], env)).stdout).toContain('no installations');
    } finally {
      await sim.close();
      await fx.cleanup();
    }
  });
});
