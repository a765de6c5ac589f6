import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteDatabase } from '../../src/storage/sql/sqlite-database';

describe('SqliteDatabase transaction with lazySync', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lazy-sync-'));
    db = new SqliteDatabase(path.join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const level = async () => (await db.all<{ synchronous: number }>('PRAGMA synchronous'))[0]?.synchronous;

  it('commits, and every later commit is fully synchronous again, even after a failed one', async () => {
    await db.run('CREATE TABLE t (a INTEGER)');
    expect(await level()).toBe(2); // FULL
    await db.transaction(
      async (tx) => {
        await tx.run('INSERT INTO t VALUES (1)');
        expect(await level()).toBe(1); // NORMAL while this one commits
      },
      { lazySync: true },
    );
    expect(await level()).toBe(2);
    await expect(
      db.transaction(
        async (tx) => {
          await tx.run('INSERT INTO t VALUES (2)');
          throw new Error('boom');
        },
        { lazySync: true },
      ),
    ).rejects.toThrow('boom');
    expect(await level()).toBe(2);
    expect(await db.all('SELECT a FROM t')).toEqual([{ a: 1 }]);
  });

  it('turns the automatic checkpoint off while lazily synced transactions come, and back on 2 s after', async () => {
    const autoCheckpoint = async () =>
      (await db.all<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint'))[0]?.wal_autocheckpoint;
    await db.run('CREATE TABLE t (a INTEGER)');
    expect(await autoCheckpoint()).toBe(1000);
    await db.transaction((tx) => tx.run('INSERT INTO t VALUES (1)'), { lazySync: true });
    expect(await autoCheckpoint()).toBe(0);
    await new Promise((r) => setTimeout(r, 2_600));
    expect(await autoCheckpoint()).toBe(1000);
    expect(await db.all('SELECT a FROM t')).toEqual([{ a: 1 }]);
  });
});
