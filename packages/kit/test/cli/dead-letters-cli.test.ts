import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { InboundEvent } from '../../src/core/chat-event';
import { storageFixture } from '../helpers/storage-fixtures';

const root = path.join(__dirname, '../..');
const deadLetters = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/dead-letters.ts'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });

const event = (id: string): InboundEvent => ({
  eventId: id,
  teamId: 'T1',
  eventTime: 1,
  event: {
    type: 'message',
    conversationId: 'C1',
    sender: { kind: 'visitor', id: 'V1' },
    text: 'SECRET-TEXT',
    ts: '1',
  },
});

describe('npm run dead-letters', () => {
  it('explains itself with --help', () => {
    const r = deadLetters(['--help'], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/list[\s\S]*retry KIND ID[\s\S]*retry --all[\s\S]*drop KIND ID/);
  });

  it('rejects a bad command, kind or limit with usage and exit status 2', () => {
    expect(deadLetters(['resend'], {}).stderr).toMatch(/unknown command "resend"/);
    const badKind = deadLetters(['retry', 'message', 'x'], {});
    expect(badKind.status).toBe(2);
    expect(badKind.stderr).toMatch(/needs KIND \(event or effect\) and ID \(got kind "message"\)/);
    expect(deadLetters(['drop', 'event'], {}).stderr).toMatch(/drop needs the ID of the event/);
    expect(deadLetters(['list', '--limit', 'ten'], {}).stderr).toMatch(
      /--limit must be a positive whole number/,
    );
  });

  it('lists, retries and drops dead letters of a SQLite store, without printing Data', async () => {
    const fx = await storageFixture('sqlite');
    try {
      const storage = await fx.open();
      for (const id of ['Ev1', 'Ev2']) {
        await storage.inbox.record(event(id));
        await storage.inbox.deadLetter(id, 'handler_failed:Error');
      }
      await storage.close();
      const env = { STORAGE: 'sqlite', DATA_DIR: fx.dataDir, MASTER_KEY: fx.masterKey };

      const listed = deadLetters(['list'], env);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toMatch(/^event\tEv1\tT1\thandler_failed:Error\t\d{4}-/m);
      expect(listed.stdout).toMatch(/^event\tEv2\t/m);
      expect(listed.stdout).not.toMatch(/SECRET-TEXT|V1/);

      expect(deadLetters(['retry', 'event', 'Ev1'], env).stdout).toMatch(/event Ev1 put back in line/);
      expect(deadLetters(['drop', 'event', 'Ev2'], env).stdout).toMatch(/event Ev2 dropped/);
      const missing = deadLetters(['drop', 'event', 'Ev2'], env);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/no dead event with id "Ev2"/);
      expect(deadLetters(['list'], env).stdout).toBe('no dead letters\n');

      const reopened = await fx.open({ instanceId: 'another' });
      // Retried: replayable again; dropped: handled (a redelivery stays a duplicate).
      expect((await reopened.inbox.unhandled(10)).map((e) => e.eventId)).toEqual(['Ev1']);
      expect(await reopened.inbox.record(event('Ev2'))).toBe('duplicate');
      await reopened.close();
    } finally {
      await fx.cleanup();
    }
  });
});
