import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN_CHILD, REPO_ROOT } from '../helpers/spawn-main';
import { waitFor } from '../helpers/wait-for';

/** `npm start` with no setup: the sandbox team installs the app through the real flow. */
describe('sandbox mode at start', () => {
  it('installs its default team through /install, the consent page and the callback, then serves visitors', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN_CHILD, '--sandbox-if-unconfigured'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, HTTP_PORT: '0', SANDBOX_PORT: '0' },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('the visitor page link', () => out.includes('Chat with your bot as a visitor'), 30_000);
      // Logs are written asynchronously: wait for the install's own line too.
      await waitFor(
        'the install log',
        () => out.includes('sandbox team installed through the install flow'),
        10_000,
      );
      const logs = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { part?: string; msg: string; teamId?: string });
      // The callback itself logged the install: the flow was walked, not short-cut.
      expect(logs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ part: 'install', msg: 'installed', teamId: 'T0SANDBOX' }),
          expect.objectContaining({ msg: 'sandbox team installed through the install flow' }),
        ]),
      );
      const visitorUrl = /Chat with your bot as a visitor: (\S+)/.exec(out)?.[1] ?? '';
      const chat = await fetch(new URL('api/chats', visitorUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const { conversation_id, token } = (await chat.json()) as { conversation_id: string; token: string };
      const stream = await fetch(new URL(`api/chats/${conversation_id}/stream?token=${token}`, visitorUrl));
      const reader = stream.body!.getReader();
      let seen = '';
      while (!seen.includes('"sender":"bot"')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += Buffer.from(value).toString();
      }
      await reader.cancel();
      expect(seen).toContain('"sender":"bot"');
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
