import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openCheckpointer, type Checkpointer } from './sqlite-checkpointer';
import {
  WriteBatcher,
  type PurgeOptions,
  type PurgeReport,
  type SqlDatabase,
  type SqlRunner,
  type WriteLane,
} from './sql-database';

/**
 * SQLite through better-sqlite3: one file, WAL, `secure_delete` so deleted rows are overwritten
 * rather than left in free pages, full fsync on commit (group commit keeps that affordable).
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly batchers: Record<WriteLane, WriteBatcher>;
  private txChain: Promise<unknown> = Promise.resolve();
  private walKeeper:
    { checkpointer: Checkpointer; timer: NodeJS.Timeout; lastUsed: number; done: Promise<void> } | undefined;

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // Only the app's user may read the database files (-wal and -shm are created with the same mode).
    if (file !== ':memory:') chmodSync(file, 0o600);
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.batchers = {
      ack: new WriteBatcher((fn) => this.transaction(fn)),
      default: new WriteBatcher((fn) => this.transaction(fn)),
    };
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return Promise.resolve(this.prepare(sql).run(...params.map(toSqlite)).changes);
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return Promise.resolve(this.prepare(sql).all(...params.map(toSqlite)) as T[]);
  }

  /** Transactions run one at a time (SQLite has one writer; this connection is shared). */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opts?: { lazySync?: boolean }): Promise<T> {
    const result = this.txChain.then(async () => {
      // The safety level cannot change inside a transaction; FULL is back before anything else commits.
      if (opts?.lazySync) {
        this.keepWalOffThread();
        this.db.pragma('synchronous = NORMAL');
      }
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(this);
        this.db.exec('COMMIT');
        return value;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        if (opts?.lazySync) this.db.pragma('synchronous = FULL');
      }
    });
    this.txChain = result.catch(() => undefined);
    return result;
  }

  write<T>(op: (tx: SqlRunner) => Promise<T>, lane: WriteLane = 'default'): Promise<T> {
    return this.batchers[lane].write(op);
  }

  /**
   * While lazily synced transactions (long deletions) keep coming, a worker checkpoints the WAL
   * (PASSIVE: it never blocks a writer) and SQLite's automatic checkpoint is off: that one copies
   * the WAL into the database file and fsyncs it inside whichever COMMIT crosses 1,000 pages, on
   * this thread, and held the event loop 40–150 ms about once a second under a long erasure. Two
   * seconds after the last one, the worker stops and the automatic checkpoint is back.
   */
  private keepWalOffThread(): void {
    if (this.file === ':memory:') return;
    if (this.walKeeper) {
      this.walKeeper.lastUsed = Date.now();
      return;
    }
    this.db.pragma('wal_autocheckpoint = 0');
    const checkpointer = openCheckpointer(this.file);
    const keeper = {
      checkpointer,
      timer: setInterval(() => tick(), 200),
      lastUsed: Date.now(),
      done: Promise.resolve(),
    };
    let running = false;
    let ticks = 0;
    const tick = (): void => {
      if (Date.now() - keeper.lastUsed > 2_000) return void this.stopWalKeeper().catch(() => undefined);
      if (running) return;
      running = true;
      // Once a second, with this connection's transactions held back for the few milliseconds it
      // takes (the frames are mostly copied already), TRUNCATE, so that the WAL starts over: with
      // writes never pausing, PASSIVE alone never catches up and the file would grow all along.
      const truncate = ++ticks % 5 === 0;
      const step = truncate ? this.txChain.then(() => checkpointer.truncate()) : checkpointer.passive();
      if (truncate) this.txChain = step.catch(() => undefined);
      keeper.done = step
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => (running = false));
    };
    keeper.timer.unref();
    this.walKeeper = keeper;
  }

  private async stopWalKeeper(): Promise<void> {
    const keeper = this.walKeeper;
    if (!keeper) return;
    this.walKeeper = undefined;
    clearInterval(keeper.timer);
    // Checkpoint what is left first, or the next COMMIT would checkpoint all of it, on this thread.
    await keeper.done;
    await keeper.checkpointer.passive().catch(() => undefined);
    // SQLite's default again, unless a new deletion started a new keeper meanwhile.
    if (this.db.open && !this.walKeeper) this.db.pragma('wal_autocheckpoint = 1000');
    await keeper.checkpointer.close();
  }

  /** Best effort, off the event loop: a few TRUNCATE attempts (erasure uses `purge`, which insists). */
  async checkpoint(): Promise<void> {
    await this.emptyWal({ maxAttempts: 5 }).catch(() => undefined);
  }

  /**
   * Layer (b) on SQLite: `secure_delete` has already zeroed deleted and replaced cells in every
   * page written since; this empties the WAL, whose older frames still hold the previous page
   * versions, with `wal_checkpoint(TRUNCATE)` retried until it succeeds.
   */
  async purge(_tables: readonly string[], options: PurgeOptions = {}): Promise<PurgeReport> {
    const attempts = await this.emptyWal(options);
    return {
      engine: 'sqlite',
      done: 'deleted and replaced cells zeroed in place (secure_delete); WAL checkpointed into the database file and truncated to 0 bytes (wal_checkpoint(TRUNCATE) succeeded)',
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
    await this.stopWalKeeper(); // its checkpoints would only make TRUNCATE's attempts fail
    const checkpointer = openCheckpointer(this.file);
    try {
      let wait = 10;
      for (let attempt = 1; ; attempt++) {
        if (options.signal?.aborted) throw new Error('checkpoint abandoned (stopping)');
        await checkpointer.passive();
        const outcome = this.txChain.then(() => checkpointer.truncate());
        this.txChain = outcome.catch(() => undefined);
        const { done, reason } = await outcome;
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

  async close(): Promise<void> {
    await this.txChain;
    await this.stopWalKeeper();
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
