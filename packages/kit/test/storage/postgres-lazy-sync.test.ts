import type { Storage } from '../../src/storage/open-storage';
import type { SqlRunner } from '../../src/storage/sql/sql-database';
import { storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const describePg = process.env.TEST_PG === '1' ? describe : describe.skip;

/**
 * `lazySync` on PostgreSQL is asynchronous commit for that transaction only: an erasure's delete
 * batches do not wait for the WAL flush, and nothing else loses its durability by sharing the
 * pooled connection afterwards.
 */
describePg('lazySync transactions on PostgreSQL', () => {
  let fixture: StorageFixture;
  let storage: Storage;
  beforeAll(async () => {
    fixture = await storageFixture('postgres');
    storage = await fixture.open();
  });
  afterAll(async () => {
    await storage.close();
    await fixture.cleanup();
  });

  const setting = async (tx: SqlRunner) =>
    (await tx.all<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0]?.synchronous_commit;

  it('commits a lazySync transaction without waiting for the flush, and only that transaction', async () => {
    const { db } = storage.sql!;
    const inside = await db.transaction(setting, { lazySync: true });
    expect(inside).toBe('off');
    // Every connection of the pool, after it: the setting was local to the transaction.
    const after = await Promise.all(Array.from({ length: 12 }, () => db.transaction(setting)));
    expect(new Set(after)).toEqual(new Set(['on']));
  });

  it('keeps what a lazySync transaction wrote once it returns, and nothing of one that failed', async () => {
    const { db } = storage.sql!;
    await db.run('CREATE TABLE lazy_probe (n INTEGER PRIMARY KEY)');
    await db.transaction((tx) => tx.run('INSERT INTO lazy_probe (n) VALUES (1)'), { lazySync: true });
    await expect(
      db.transaction(
        async (tx) => {
          await tx.run('INSERT INTO lazy_probe (n) VALUES (2)');
          await tx.run('INSERT INTO lazy_probe (n) VALUES (1)');
        },
        { lazySync: true },
      ),
    ).rejects.toThrow(/duplicate key/);
    expect(await db.all<{ n: number }>('SELECT n FROM lazy_probe ORDER BY n')).toEqual([{ n: 1 }]);
  });
});
