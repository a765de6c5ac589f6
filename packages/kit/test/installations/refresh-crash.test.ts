import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { installThroughConsent } from '@clickdesk-bot/sandbox';
import type { Simulator } from '@clickdesk-bot/sandbox';
import type { Storage } from '../../src/storage/open-storage';
import { startInstallingApp, startOAuthSimulator } from '../helpers/oauth-pair';
import { storageFixture, type StorageFixture } from '../helpers/storage-fixtures';
import { waitFor } from '../helpers/wait-for';

const digest = (token: string | undefined) =>
  createHash('sha256')
    .update(token ?? '')
    .digest('hex');

describe("a refresh cut off by SIGKILL between ClickDesk's answer and the commit", () => {
  let fx: StorageFixture;
  let sim: Simulator;
  const opened: Storage[] = [];
  beforeEach(async () => {
    fx = await storageFixture('sqlite');
    sim = await startOAuthSimulator();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await sim.close();
    await fx.cleanup();
  });
  const open = async () => {
    const s = await fx.open();
    opened.push(s);
    return s;
  };

  it('is finished after restart within the reuse interval: same pair, installation kept, no invalid_grant', async () => {
    const first = await open();
    const app = await startInstallingApp(sim, {
      installations: { store: first.installations, usedStates: first.usedStates },
    });
    expect((await installThroughConsent(app.url, sim.team.id)).status).toBe(200);
    const before = await first.installations.get(sim.team.id);
    await app.stop();
    await first.close();
    opened.splice(0);

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, '../fixtures/token-refresh-child.ts'),
        fx.dataDir,
        fx.masterKey,
        sim.apiUrl,
        sim.team.id,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor('ClickDesk answered the child', () => /granted [0-9a-f]{64}\n/.test(out), 20_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(out).not.toContain('committed');
    const granted = /granted ([0-9a-f]{64})/.exec(out)?.[1];
    expect(sim.oauth.grants.issued).toBe(1);

    const second = await open();
    // Killed before the commit: the store still holds the old pair, and the lease of the dead instance.
    expect((await second.installations.get(sim.team.id))?.accessToken).toBe(before?.accessToken);
    expect((await second.installations.list())[0]).toMatchObject({ teamId: sim.team.id });
    const restarted = await startInstallingApp(sim, {
      installations: {
        store: second.installations,
        usedStates: second.usedStates,
        rotation: { sweepMs: 100, leaseMs: 1_000 },
      },
    });
    try {
      await waitFor('the refresh to be finished', () => sim.oauth.grants.replayed === 1, 10_000);
      let after = await second.installations.get(sim.team.id);
      for (let i = 0; i < 100 && digest(after?.accessToken) !== granted; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = await second.installations.get(sim.team.id);
      }
      expect(digest(after?.accessToken)).toBe(granted);
      expect(sim.oauth.grants).toMatchObject({ issued: 1, replayed: 1, invalid_grant: 0 });
      expect(sim.oauth.checkAccess(after?.accessToken ?? '').status).toBe('ok');
      const { conversationId } = sim.startVisitorChat('Ada');
      await waitFor('greeting', () => sim.world.countBy(conversationId, 'bot') === 1);
    } finally {
      await restarted.stop();
    }
  });
});
