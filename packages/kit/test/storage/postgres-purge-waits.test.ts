import pg from 'pg';
import type { Storage } from '../../src/storage/open-storage';
import { storageFixture, TEST_DATABASE_URL, type StorageFixture } from '../helpers/storage-fixtures';

const describePg = process.env.TEST_PG === '1' ? describe : describe.skip;

/**
 * While a transaction older than the erasure is open, VACUUM FULL would copy the rows it still
 * sees into the new file and hold every other query of the table for nothing: the purge waits for
 * it without rewriting (so without locking) anything.
 */
describePg('the PostgreSQL purge while an older transaction is open', () => {
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

  const fileOf = async () =>
    (
      await storage.sql!.db.all<{ f: string }>(
        "SELECT pg_relation_filenode(to_regclass('messages'))::text AS f",
      )
    )[0]?.f;

  it('rewrites no table until that transaction ends, then purges', async () => {
    const { db } = storage.sql!;
    const holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    try {
      await db.run(
        "INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES ('E1', 'T1', 'c', 's', 'visitor', ?, 0, 0)",
        [Buffer.from('sealed')],
      );
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT 1'); // a snapshot that still sees the row deleted next
      await db.run("DELETE FROM messages WHERE event_id = 'E1'");
      const before = await fileOf();
      const reasons: string[] = [];
      let fileWhileOpen: string | undefined;
      const report = await db.purge(['messages'], {
        onRetry: async (_attempt, reason) => {
          reasons.push(reason);
          if (reasons.length !== 3) return;
          fileWhileOpen = await fileOf();
          await holder.query('COMMIT');
        },
      });
      // Sessions of other tests in the same database may be counted too, and waited for as well.
      for (const reason of reasons.slice(0, 3))
        expect(reason).toMatch(
          /^VACUUM FULL messages not run: \d+ transactions older than the erasure still open$/,
        );
      expect(fileWhileOpen).toBe(before);
      expect(report.done).toMatch(/VACUUM FULL messages/);
      expect(await fileOf()).not.toBe(before);
    } finally {
      await holder.end();
    }
  });
});
