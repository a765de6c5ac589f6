import type pg from 'pg';
import type { PurgeOptions, PurgeReport } from './sql-database';

const SAFE_NAME = /^[a-z_][a-z0-9_]*$/;
/** How long VACUUM FULL may wait for its lock, other queries of the table queued behind it. */
const LOCK_TIMEOUT = '250ms';

/**
 * Layer (b) on PostgreSQL. A DELETE or UPDATE leaves the old row version in the table's file;
 * plain VACUUM marks its space free but leaves its bytes in the page (measured: a third of
 * deleted rows still readable in the file). VACUUM FULL rewrites each table into a new file
 * holding only live rows, and the old file is truncated at commit. It holds an ACCESS EXCLUSIVE
 * lock for the rewrite, which every other team's reads and writes of the table wait on, for as
 * long as reading the whole table takes (a plain VACUUM first, to prune the dead rows beside
 * them, was measured not to shorten it after batched deletes, and added seconds of I/O). With a
 * short `lock_timeout` it gives up rather than hold every other query queued behind it while it
 * waits for a long transaction, and is retried with backoff until it succeeds. A dead row still
 * visible to a transaction open anywhere in the database is copied into the new file too: its
 * VERBOSE report ("N dead row versions cannot be removed yet") makes that a retry, not success.
 * VACUUM cannot run in a transaction, so each runs on its own. CHECKPOINT then writes every page
 * to disk; it needs the pg_checkpoint role (PostgreSQL 15) and is skipped, and said so, without it.
 */
export async function purgePostgres(
  pool: pg.Pool,
  tables: readonly string[],
  options: PurgeOptions = {},
): Promise<PurgeReport> {
  let attempts = 0;
  let wait = 100;
  const marker = await nextTransactionId(pool);
  for (const table of tables) {
    if (!SAFE_NAME.test(table)) throw new Error(`not a table name: ${table}`);
    for (;;) {
      attempts += 1;
      if (options.signal?.aborted) throw new Error('purge abandoned (stopping)');
      const older = await transactionsOlderThan(pool, marker);
      if (older > 0) {
        await options.onRetry?.(
          attempts,
          `VACUUM FULL ${table} not run: ${older} transactions older than the erasure still open`,
        );
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 5_000);
        continue;
      }
      const client = await pool.connect();
      let kept = 0;
      const onNotice = (notice: { message?: string; detail?: string }) => {
        const m = /(\d+) dead row versions cannot be removed yet/.exec(`${notice.message} ${notice.detail}`);
        if (m) kept += Number(m[1]);
      };
      client.on('notice', onNotice);
      let reason: string;
      try {
        await client.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
        await client.query(`VACUUM (FULL, VERBOSE) ${table}`);
        if (kept === 0) break;
        // Still visible to a transaction open somewhere in the database: copied into the new file.
        reason = `VACUUM FULL ${table}: ${kept} dead row versions kept for a transaction still open`;
      } catch (err) {
        reason = `VACUUM FULL ${table}: ${(err as Error).message}`;
      } finally {
        client.off('notice', onNotice);
        await client.query('RESET lock_timeout').catch(() => undefined);
        client.release();
      }
      await options.onRetry?.(attempts, reason);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 5_000);
    }
  }
  let checkpoint = 'CHECKPOINT written';
  try {
    await pool.query('CHECKPOINT');
  } catch (err) {
    checkpoint = `CHECKPOINT not run (${(err as Error).message}); the next automatic checkpoint writes the pages`;
  }
  return {
    engine: 'postgres',
    done: `dead row versions removed by rewriting the tables (VACUUM FULL ${tables.join(', ')}); the old table files truncated; ${checkpoint}`,
    remains:
      'the write-ahead log: segments in pg_wal written before the erasure still hold the erased rows and the wrapped keys until PostgreSQL recycles them (after later checkpoints, typically within max_wal_size of writes); any WAL archive, base backup or replica keeps them for its own retention — those copies are covered by layer (c)',
    attempts,
  };
}

/** The next transaction id to be assigned (32-bit, as pg_stat_activity shows them): every erased row was deleted before it. */
async function nextTransactionId(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ x: string }>(
    'SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296)::text AS x',
  );
  return rows[0]!.x;
}

/**
 * Sessions of this database whose snapshot or transaction is older than `marker`: VACUUM FULL
 * would copy the rows they can still see into the new file, holding every other query of the
 * table for a rewrite that has to be done again. Checked first, so the purge waits for them
 * without taking the lock. Without the rights to see other users' sessions this finds none, and
 * the VERBOSE report still catches them (as it does replication slots and prepared transactions);
 * autovacuum's workers, which show a snapshot but hold back nothing, are not counted.
 */
async function transactionsOlderThan(pool: pg.Pool, marker: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT COUNT(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND (age(backend_xmin) > age($1::xid) OR age(backend_xid) > age($1::xid))`,
    [marker],
  );
  return Number(rows[0]?.n ?? 0);
}
