import type { SqlDatabase } from './sql-database';

/**
 * A cheap check that storage can commit now, for readiness. SQLite: a one-row write through the
 * same group commit as events (it needs room on the disk, as they do). PostgreSQL: a round trip
 * over the pool, refused on a read-only server (a standby promoted away from).
 */
export function storageProbe(db: SqlDatabase): () => Promise<void> {
  if (db.dialect === 'postgres') {
    return async () => {
      const [row] = await db.all<{ ro: boolean }>('SELECT pg_is_in_recovery() AS ro');
      if (row?.ro) throw new Error('PostgreSQL is read-only (in recovery): nothing can be recorded');
    };
  }
  return async () => {
    await db.write(
      (tx) =>
        tx.run(
          'UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT MAX(version) FROM schema_migrations)',
        ),
      'ack',
    );
  };
}
