import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isCodedError } from '../../src/errors';
import { SqliteDatabase } from '../../src/storage/sql/sqlite-database';
import { waitFor } from '../helpers/wait-for';

/**
 * SQLite commits with `synchronous = NORMAL` and its callers wait for an fdatasync of the WAL
 * that started after their commit: the gated sync below stands for a slow disk. What these
 * tests prove is the order (durable before resolved), observed from a second connection.
 */
describe('SQLite group fsync of the WAL', () => {
  let dir: string;
  let file: string;
  let db: SqliteDatabase;
  let other: Database.Database;
  /** Each started sync, in order; `release(i)` lets the i-th finish (with `fail`, as an error). */
  let gated: boolean;
  let syncs: Array<{ release: () => void; fail: (err: Error) => void; committedRows: number }>;

  const settled = <T>(p: Promise<T>) => {
    const state = { done: false, error: undefined as unknown };
    p.then(
      () => (state.done = true),
      (err: unknown) => (state.error = err),
    );
    return state;
  };
  const visibleRows = (): number => (other.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-wal-'));
    file = path.join(dir, 'db.sqlite');
    syncs = [];
    gated = true;
    db = new SqliteDatabase(file, {
      syncWal: (fh) =>
        new Promise<void>((resolve, reject) => {
          if (!gated) return void fh.datasync().then(resolve, reject);
          syncs.push({
            release: () => void fh.datasync().then(resolve, reject),
            fail: reject,
            committedRows: visibleRows(),
          });
        }),
    });
    other = new Database(file, { readonly: true });
    const created = db.run('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await waitFor('the first sync', () => syncs.length === 1);
    syncs[0]!.release();
    await created;
  });
  afterEach(async () => {
    gated = false;
    for (const s of syncs) s.release();
    other.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a write only after the sync that started after its commit has finished', async () => {
    const write = settled(db.write((tx) => tx.run('INSERT INTO t (id) VALUES (1)'), 'ack'));
    await waitFor('a sync after the commit', () => syncs.length === 2);
    // Committed (another connection sees the row) before the sync started, not yet acknowledged.
    expect(syncs[1]!.committedRows).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(write.done).toBe(false);
    syncs[1]!.release();
    await waitFor('the write to resolve', () => write.done);
    expect(write.error).toBeUndefined();
  });

  it('serves a commit that returned during a sync with the next sync, not the one in flight', async () => {
    const first = settled(db.transaction((tx) => tx.run('INSERT INTO t (id) VALUES (1)')));
    await waitFor('the first commit to sync', () => syncs.length === 2);
    const second = settled(db.transaction((tx) => tx.run('INSERT INTO t (id) VALUES (2)')));
    await waitFor('the second commit', () => visibleRows() === 2);
    syncs[1]!.release();
    await waitFor('the first to resolve', () => first.done);
    await waitFor('a sync for the second', () => syncs.length === 3);
    expect(second.done).toBe(false);
    syncs[2]!.release();
    await waitFor('the second to resolve', () => second.done);
  });

  it('holds a read back until every commit it could have seen is synced', async () => {
    const write = settled(db.write((tx) => tx.run('INSERT INTO t (id) VALUES (1)')));
    await waitFor('the sync of the write', () => syncs.length === 2);
    const read = settled(db.all<{ id: number }>('SELECT id FROM t'));
    await new Promise((r) => setTimeout(r, 20));
    expect(read.done).toBe(false);
    syncs[1]!.release();
    await waitFor('the read to resolve', () => read.done && write.done);
  });

  it('resolves a lazySync transaction at its commit; the next durable commit carries it to disk', async () => {
    // Erasure and freshness batches: redone when lost, they do not wait for the sync.
    const lazy = settled(db.transaction((tx) => tx.run('INSERT INTO t (id) VALUES (1)'), { lazySync: true }));
    await waitFor('the lazy commit to resolve', () => lazy.done);
    expect(visibleRows()).toBe(1);
    const pending = syncs.slice(1);
    expect(pending.every((s) => s.committedRows <= 1)).toBe(true);
    const durable = settled(db.transaction((tx) => tx.run('INSERT INTO t (id) VALUES (2)')));
    await waitFor('the durable commit', () => visibleRows() === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(durable.done).toBe(false);
    // Release syncs until one that started after both commits has finished: only then is it resolved.
    for (let i = 1; !durable.done; i++) {
      await waitFor(`sync ${i}`, () => syncs.length > i || durable.done);
      if (durable.done) break;
      syncs[i]!.release();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(syncs.some((s) => s.committedRows === 2)).toBe(true);
    expect(durable.error).toBeUndefined();
  });

  it('fails the waiting writes when a sync fails, and refuses every later use', async () => {
    const write = settled(db.write((tx) => tx.run('INSERT INTO t (id) VALUES (1)')));
    await waitFor('the sync of the write', () => syncs.length === 2);
    syncs[1]!.fail(new Error('EIO'));
    await waitFor('the write to fail', () => write.error !== undefined);
    expect(isCodedError(write.error, 'STORAGE_SYNC_FAILED')).toBe(true);
    await expect(db.write((tx) => tx.run('INSERT INTO t (id) VALUES (2)'))).rejects.toMatchObject({
      code: 'STORAGE_SYNC_FAILED',
    });
    await expect(db.all('SELECT id FROM t')).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
  });

  it('commits without a sync of its own and without a checkpoint inside the commit (WAL, synchronous=NORMAL, wal_autocheckpoint=0)', async () => {
    const settings = await Promise.all([
      db.all<{ journal_mode: string }>('PRAGMA journal_mode'),
      db.all<{ synchronous: number }>('PRAGMA synchronous'),
      db.all<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint'),
    ]);
    expect(settings).toEqual([[{ journal_mode: 'wal' }], [{ synchronous: 1 }], [{ wal_autocheckpoint: 0 }]]);
  });

  it('keeps the WAL file (its inode) through a TRUNCATE checkpoint, so the synced descriptor stays right', async () => {
    const before = statSync(`${file}-wal`).ino;
    const checkpoint = db.checkpoint();
    await checkpoint;
    expect(statSync(`${file}-wal`).size).toBe(0);
    const write = settled(db.write((tx) => tx.run('INSERT INTO t (id) VALUES (1)')));
    await waitFor('the sync of the write', () => syncs.length === 2);
    expect(statSync(`${file}-wal`).ino).toBe(before);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    syncs[1]!.release();
    await waitFor('the write to resolve', () => write.done);
  });
});
