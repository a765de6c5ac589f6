import { readFileSync } from 'node:fs';
import type { Installation } from '../../src/installations/installation';
import type { Storage } from '../../src/storage/open-storage';
import { STORAGE_KINDS, adminQuery, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const ACCESS = 'xoxe.xoxb-T1-SECRETACCESSTOKEN0001';
const REFRESH = 'xoxe-1-SECRETREFRESHTOKEN0001';
const inst = (overrides: Partial<Installation> = {}): Installation => ({
  teamId: 'T1',
  teamName: 'Acme Support',
  appId: 'A1',
  botUserId: 'B1',
  installerId: 'U1',
  scope: 'chat:write',
  accessToken: ACCESS,
  refreshToken: REFRESH,
  expiresAt: Date.now() + 3_600_000,
  installedAt: Date.now(),
  updatedAt: Date.now(),
  ...overrides,
});

describe.each(STORAGE_KINDS)('the installation store on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;
  beforeEach(async () => {
    fx = await storageFixture(kind);
    storage = await fx.open();
  });
  afterEach(async () => {
    await storage.close();
    await fx.cleanup();
  });

  const rawBytes = async (): Promise<string> => {
    if (kind === 'sqlite') {
      await storage.sql!.db.checkpoint();
      return fx
        .files()
        .map((f) => {
          try {
            return readFileSync(f).toString('latin1');
          } catch {
            return '';
          }
        })
        .join('');
    }
    const { rows } = await adminQuery(`SELECT body::text AS b, team_id FROM ${fx.pgSchema}.installations`);
    return (
      JSON.stringify(rows) +
      Buffer.concat(rows.map((r: { b: string }) => Buffer.from(r.b.slice(2), 'hex'))).toString('latin1')
    );
  };

  it('keeps tokens and team name sealed: none of them is in the database in clear', async () => {
    await storage.installations.save(inst());
    expect(await storage.installations.get('T1')).toMatchObject({
      accessToken: ACCESS,
      refreshToken: REFRESH,
      teamName: 'Acme Support',
    });
    const raw = await rawBytes();
    for (const secret of [ACCESS, REFRESH, 'Acme Support', 'SECRETACCESS']) expect(raw).not.toContain(secret);
  });

  it('replaces the installation on reinstall and lists it without tokens', async () => {
    await storage.installations.save(inst());
    await storage.installations.save(
      inst({ accessToken: 'xoxe.xoxb-T1-second', refreshToken: 'xoxe-1-second' }),
    );
    expect((await storage.installations.get('T1'))?.accessToken).toBe('xoxe.xoxb-T1-second');
    const list = await storage.installations.list();
    expect(list).toEqual([expect.objectContaining({ teamId: 'T1', refreshing: false })]);
    expect(JSON.stringify(list)).not.toContain('xoxe');
  });

  it('grants the refresh lease to one owner at a time; only the holder commits; a lapsed lease can be taken over', async () => {
    await storage.installations.save(inst());
    // SQLite serves one instance (STORAGE=postgres scales out): two owners share one handle there.
    const other = kind === 'postgres' ? await fx.open() : storage;
    try {
      const claims = await Promise.all([
        storage.installations.claimRefresh('T1', 'a', 200),
        other.installations.claimRefresh('T1', 'b', 200),
      ]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [winner, loser] = claims[0] ? ['a', 'b'] : ['b', 'a'];
      const rotated = {
        accessToken: 'xoxe.xoxb-T1-new',
        refreshToken: 'xoxe-1-new',
        expiresAt: Date.now() + 1000,
        updatedAt: Date.now(),
      };
      expect(await storage.installations.commitRefresh('T1', loser, rotated)).toBe(false);
      expect((await storage.installations.list())[0]?.refreshing).toBe(true);
      await new Promise((r) => setTimeout(r, 250));
      expect(await other.installations.claimRefresh('T1', loser, 200)).toBe(true);
      expect(await storage.installations.commitRefresh('T1', winner, rotated)).toBe(false);
      expect(await other.installations.commitRefresh('T1', loser, rotated)).toBe(true);
      expect((await storage.installations.get('T1'))?.accessToken).toBe('xoxe.xoxb-T1-new');
      expect((await storage.installations.list())[0]?.refreshing).toBe(false);
    } finally {
      if (other !== storage) await other.close();
    }
  });

  it('a reinstall during a refresh wins: the late commit is refused', async () => {
    await storage.installations.save(inst());
    expect(await storage.installations.claimRefresh('T1', 'a', 10_000)).toBe(true);
    await storage.installations.save(inst({ accessToken: 'xoxe.xoxb-T1-reinstalled' }));
    const late = {
      accessToken: 'xoxe.xoxb-T1-late',
      refreshToken: 'xoxe-1-late',
      expiresAt: 1,
      updatedAt: 1,
    };
    expect(await storage.installations.commitRefresh('T1', 'a', late)).toBe(false);
    expect((await storage.installations.get('T1'))?.accessToken).toBe('xoxe.xoxb-T1-reinstalled');
  });

  it('shredding the team key makes the installation unreadable (uninstall, termination)', async () => {
    await storage.installations.save(inst());
    await storage.installations.save(inst({ teamId: 'T2' }));
    await storage.sql!.keys.destroy('T1', 'team', undefined);
    expect(await storage.installations.get('T1')).toBeUndefined();
    expect((await storage.installations.get('T2'))?.accessToken).toBe(ACCESS);
  });

  it('spends an install state once, across instances', async () => {
    // SQLite serves one instance (STORAGE=postgres scales out): two owners share one handle there.
    const other = kind === 'postgres' ? await fx.open() : storage;
    try {
      const exp = Date.now() + 60_000;
      const results = await Promise.all([
        storage.usedStates.consume('n1', exp),
        other.usedStates.consume('n1', exp),
      ]);
      expect(results.sort()).toEqual([false, true]);
    } finally {
      if (other !== storage) await other.close();
    }
  });

  it('lifts the team tombstone of an earlier uninstall when the team installs again, so its events are stored', async () => {
    const event = {
      eventId: 'EvAfterReinstall',
      teamId: 'T1',
      eventTime: 1_764_370_000,
      event: {
        type: 'message' as const,
        conversationId: 'C1',
        sender: { kind: 'visitor' as const, id: 'V1' },
        text: 'hello again',
        ts: '1.0',
      },
    };
    // As app.uninstalled leaves it: the whole team tombstoned, its events dropped.
    await storage.sql!.db.run('INSERT INTO tombstones (team_id, subject_ref, created_at) VALUES (?, ?, ?)', [
      'T1',
      '*',
      Date.now(),
    ]);
    await storage.sql!.ctx.tombstones.load();
    expect(await storage.inbox.record({ ...event, eventId: 'EvBeforeReinstall' })).toBe('duplicate');

    // Another instance on the same database loaded the tombstone before the reinstall.
    const other = await fx.open();
    try {
      await other.sql!.ctx.tombstones.load();
      await storage.installations.save(inst());
      expect(await storage.inbox.record(event)).toBe('recorded');
      expect(await other.inbox.record({ ...event, eventId: 'EvOnTheOtherInstance' })).toBe('recorded');
    } finally {
      await other.close();
    }
  });
});
