import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PAGE_SIZE, SqliteDatabase } from '../../src/storage/sql/sqlite-database';
import { WalFrames } from '../../src/storage/sql/wal-frames';

/** What the checkpoint pacing reads from the `-shm` file, checked against SQLite's own answer. */
describe('SQLite WAL frames, for pacing checkpoints', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-walframes-'));
    file = path.join(dir, 'db.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the frame count and page size SQLite reports for the WAL', () => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v BLOB)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))');
    for (let i = 0; i < 20; i++) insert.run();
    const wal = new WalFrames(file);
    try {
      const read = wal.read();
      const [reported] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
      expect(read).toEqual({ frames: reported!.log, pageSize: db.pragma('page_size', { simple: true }) });
      expect(read!.frames).toBeGreaterThan(20);
    } finally {
      wal.close();
      db.close();
    }
  });

  it('reads nothing, rather than a guess, when there is no -shm file', () => {
    const wal = new WalFrames(path.join(dir, 'absent.sqlite'));
    expect(wal.read()).toBeUndefined();
    wal.close();
  });

  it('creates a database with small pages, and leaves an existing one its own', async () => {
    const old = path.join(dir, 'old.sqlite');
    const before = new Database(old);
    before.pragma('page_size = 4096');
    before.exec('CREATE TABLE t (v TEXT)');
    before.close();
    for (const [f, size] of [
      [file, PAGE_SIZE],
      [old, 4096],
    ] as const) {
      const db = new SqliteDatabase(f);
      await db.run('CREATE TABLE IF NOT EXISTS t (v TEXT)');
      const [row] = await db.all<{ page_size: number }>('PRAGMA page_size');
      await db.close();
      expect(row?.page_size).toBe(size);
    }
  });
});
