import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackgroundCheckpoints } from './background-checkpoints';
import { openCheckpointer } from './sqlite-checkpointer';
import {
  type PurgeOptions,
  type PurgeReport,
  type SqlDatabase,
  type SqlRunner,
  type WriteLane,
} from './sql-database';
import { WalSync, type SyncFile } from './wal-sync';
import { WriteBatcher, type Committed } from './write-batcher';

/**
 * Small pages: SQLite's WAL holds whole pages, so an event costs about a page per index entry
 * it adds to a page no other event of its commit touches (one per index keyed by conversation,
 * subject or event id). Measured by the growth bench with 300,000 messages stored: 41 KB written
 * per event with 4 KiB pages, 26 KB with 2 KiB, 18 KB with 1 KiB, for the same CPU per event
 * (with 2,000 stored, 1 KiB pages cost up to a fifth more CPU per event: deeper trees).
 */
export const PAGE_SIZE = 1024;

/**
 * The connection's page cache, KiB (SQLite's default is 2,000). Every event looks up and inserts
 * into indexes keyed by event ids and blind refs, spread over the whole file; with the default a
 * large database reads most of those pages back from the OS at every event. Measured by the growth
 * bench with 300,000 messages stored (one run each): 7,000 events/s and 152 µs of CPU each with
 * the default, 9,400 and 110 µs with 8 MiB, 11,100 and 95 µs with 16 MiB. It is resident memory
 * once the database is that large, so 8 MiB, against the memory figures as shipped.
 */
export const CACHE_KIB = 8 * 1024;

export interface SqliteOptions {
  /** How the WAL is made durable (tests gate it to observe that callers wait for it). */
  syncWal?: SyncFile;
}

/**
 * SQLite through better-sqlite3: one file, WAL, `secure_delete` so deleted rows are overwritten
 * rather than left in free pages. Commits are group commits, and made durable by an fdatasync
 * of the WAL on libuv's thread pool (see WalSync): nothing a caller is given, written or read,
 * is resolved before the commits it depends on are on disk, yet the event loop never fsyncs.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly batchers: Record<WriteLane, WriteBatcher>;
  private readonly walSync: WalSync | undefined;
  private readonly checkpoints: BackgroundCheckpoints | undefined;
  private txChain: Promise<unknown> = Promise.resolve();
  /** What a transaction's function runs statements through (no durability wait per statement). */
  private readonly inTx: SqlRunner = {
    run: (sql, params = []) => Promise.resolve(this.prepare(sql).run(...params.map(toSqlite)).changes),
    all: <T>(sql: string, params: readonly unknown[] = []) =>
      Promise.resolve(this.prepare(sql).all(...params.map(toSqlite)) as T[]),
  };

  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    // Takes effect on a new database only (an existing one keeps its pages until rebuilt).
    this.db.pragma(`page_size = ${PAGE_SIZE}`);
    const wal = this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    // Only the app's user may read the database files (-wal and -shm are created with the same mode).
    if (file !== ':memory:') chmodSync(file, 0o600);
    // With the WAL synced by WalSync, COMMIT need not fsync on the event loop (NORMAL); checkpoints
    // and WAL restarts still sync inside SQLite. Without a WAL file, every commit syncs (FULL).
    this.walSync = wal ? new WalSync(`${file}-wal`, options.syncWal) : undefined;
    this.db.pragma(`synchronous = ${this.walSync ? 'NORMAL' : 'FULL'}`);
    if (wal && file !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints = new BackgroundCheckpoints(file, (fn) => this.exclusive(fn));
    }
    this.db.pragma('secure_delete = ON');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
    const writes = new WriteBatcher((fn) => this.commit(fn));
    this.batchers = {
      ack: new WriteBatcher((fn) => this.commit(fn)),
      default: writes,
      // In-process, one connection: the sender's writes join the handlers' groups.
      delivery: writes,
    };
  }

  /**
   * A statement outside any transaction (autocommit). A write resolves once durable; so does a
   * read, once every commit it may have seen is (nothing unsynced leaves the database).
   */
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (this.walSync?.failure) throw this.walSync.failure;
    const stmt = this.prepare(sql);
    const changes = stmt.run(...params.map(toSqlite)).changes;
    await this.seenDurable(stmt.reader);
    return changes;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (this.walSync?.failure) throw this.walSync.failure;
    const rows = this.prepare(sql).all(...params.map(toSqlite)) as T[];
    await this.seenDurable(true);
    return rows;
  }

  /**
   * Transactions run one at a time (SQLite has one writer; this connection is shared). With
   * `lazySync` the caller does not wait for the WAL sync: the next sync (any durable commit after
   * it, or a checkpoint) carries this commit too, since the WAL is written in order.
   */
  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opts?: { lazySync?: boolean }): Promise<T> {
    const { value, durable } = await this.commit(fn);
    if (opts?.lazySync) durable.catch(() => undefined);
    else await durable;
    return value;
  }

  write<T>(op: (tx: SqlRunner) => Promise<T>, lane: WriteLane = 'default'): Promise<T> {
    return this.batchers[lane].write(op);
  }

  /** Runs `fn` in a transaction; resolves after COMMIT, with a promise of its durability. */
  private commit<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<Committed<T>> {
    const result = this.txChain.then(async () => {
      if (this.walSync?.failure) throw this.walSync.failure;
      this.db.exec('BEGIN IMMEDIATE');
      let value: T;
      try {
        value = await fn(this.inTx);
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.walSync?.committed();
        throw err;
      }
      this.checkpoints?.committed();
      const durable = this.walSync ? this.walSync.durable(this.walSync.committed()) : Promise.resolve();
      return { value, durable };
    });
    this.txChain = result.catch(() => undefined);
    return result;
  }

  /**
   * Waits until what a statement outside `transaction` may have seen or written is durable.
   * Alone, it autocommitted: the latest commit. Run while a transaction is open (a caller
   * interleaved with one), it belongs to that transaction: the next commit, which ends it.
   */
  private seenDurable(reader: boolean): Promise<void> {
    if (!this.walSync) return Promise.resolve();
    if (this.db.inTransaction) return this.walSync.durable(this.walSync.latest + 1);
    return this.walSync.durable(reader ? this.walSync.latest : this.walSync.committed());
  }

  /** Best effort, off the event loop: a few TRUNCATE attempts (erasure uses `purge`, which insists). */
  async checkpoint(): Promise<void> {
    await this.emptyWal({ maxAttempts: 5 }).catch(() => undefined);
  }

  /**
   * Layer (b) on SQLite: `secure_delete` has already zeroed deleted and replaced cells, but not
   * the slack space of pages SQLite rebuilt when it rebalanced the tree: a copy of a row moved to
   * a sibling page can stay there, between the cell pointers and the cells (measured: a few of
   * every thousand erased ids, in index pages). So the file is rebuilt into fresh pages (`VACUUM`,
   * in the checkpoint thread, this connection's transactions held back meanwhile), and then the
   * WAL, whose frames still hold the previous page versions, is emptied with
   * `wal_checkpoint(TRUNCATE)`, both retried until they succeed.
   */
  async purge(_tables: readonly string[], options: PurgeOptions = {}): Promise<PurgeReport> {
    const rebuilt = await this.rebuild(options);
    const attempts = rebuilt + (await this.emptyWal(options));
    return {
      engine: 'sqlite',
      done: 'deleted and replaced cells zeroed in place (secure_delete); the database file rebuilt into fresh pages (VACUUM), so no page keeps slack bytes of a deleted row; WAL checkpointed into the database file and truncated to 0 bytes (wal_checkpoint(TRUNCATE) succeeded)',
      remains:
        'nothing in the database, -wal or -shm files; blocks the file system freed earlier may keep old bytes until reused (use an encrypted file system)',
      attempts,
    };
  }

  /**
   * The checkpoint runs in a worker thread (never on the event loop). Each attempt first copies
   * frames without blocking writers (PASSIVE); then, with this connection's transactions held
   * back (they queue, asynchronously, for the attempt's few milliseconds), asks for TRUNCATE. A
   * reader elsewhere holding an old snapshot makes it fail: retried with backoff (up to 1 s).
   */
  private async emptyWal(options: PurgeOptions & { maxAttempts?: number }): Promise<number> {
    if (this.file === ':memory:') return 1;
    const checkpointer = openCheckpointer(this.file);
    try {
      let wait = 10;
      for (let attempt = 1; ; attempt++) {
        if (options.signal?.aborted) throw new Error('checkpoint abandoned (stopping)');
        await checkpointer.passive();
        const { done, reason } = await this.exclusive(() => checkpointer.truncate());
        if (done) return attempt;
        if (attempt >= (options.maxAttempts ?? Number.MAX_SAFE_INTEGER))
          throw new Error(`WAL not emptied after ${attempt} attempts: ${reason}`);
        await options.onRetry?.(attempt, reason);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 1_000);
      }
    } finally {
      await checkpointer.close();
    }
  }

  /** `VACUUM` in the checkpoint thread, retried with backoff while another reader or writer holds a lock. */
  private async rebuild(options: PurgeOptions): Promise<number> {
    if (this.file === ':memory:') return 0;
    const checkpointer = openCheckpointer(this.file, 1_000);
    try {
      let wait = 10;
      for (let attempt = 1; ; attempt++) {
        if (options.signal?.aborted) throw new Error('rebuild abandoned (stopping)');
        const { done, reason } = await this.exclusive(() => checkpointer.vacuum());
        if (done) return attempt;
        await options.onRetry?.(attempt, `VACUUM: ${reason}`);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 1_000);
      }
    } finally {
      await checkpointer.close();
    }
  }

  /** Runs `fn` with this connection's transactions held back until it settles. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const outcome = this.txChain.then(fn);
    this.txChain = outcome.catch(() => undefined);
    return outcome;
  }

  async close(): Promise<void> {
    await this.checkpoints?.close();
    await this.txChain;
    await this.walSync?.close();
    this.db.close();
  }

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

function toSqlite(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value === undefined ? null : value;
}
