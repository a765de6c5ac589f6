/** Statements run inside or outside a transaction. SQL uses `?` placeholders on every dialect. */
export interface SqlRunner {
  /** Runs a statement; resolves with the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * What the stores need from a relational database; SQLite and PostgreSQL adapters implement it.
 * Writes go through `write`, which groups the writes queued meanwhile into one transaction (group
 * commit): one fsync serves many events, and each caller learns only once its write is durable.
 */
export interface SqlDatabase extends SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * `lazySync`: commits without waiting for the fsync (SQLite: the next durable commit or
   * checkpoint carries it; PostgreSQL: asynchronous commit, flushed by the WAL writer or the next
   * synchronous commit); a crash may lose this transaction whole, never part of it. Only for
   * work that is redone when lost and acknowledges nothing, e.g. an erasure's delete batches.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opts?: { lazySync?: boolean }): Promise<T>;
  /**
   * Group-committed write. `lane: 'ack'` is for writes an RTM acknowledgement waits on (the
   * inbox): they commit in batches of their own, so they never queue behind handler writes.
   * `lane: 'delivery'` is the outbox sender's (its leases, attempts and outcomes): on PostgreSQL
   * they commit beside the handlers' groups, not after them (SQLite runs them in the default lane).
   */
  write<T>(op: (tx: SqlRunner) => Promise<T>, lane?: WriteLane, options?: WriteOptions): Promise<T>;
  /** SQLite: fold the WAL back into the database file and truncate it (after erasure). */
  checkpoint(): Promise<void>;
  /**
   * Removes what the engine still holds of deleted and updated rows of `tables` (erasure layer
   * (b)), retrying off the event loop until it is done; resolves only then. Each failed attempt
   * is reported to `onRetry` (the caller renews its lease there). `signal` gives up.
   */
  purge(tables: readonly string[], options?: PurgeOptions): Promise<PurgeReport>;
  /**
   * PostgreSQL: runs `onMessage` for every NOTIFY on `channel`; `onState(false)` when the
   * listening connection is lost (messages may have been missed), `onState(true)` when back.
   * Resolves with a function that stops listening.
   */
  listen?(
    /** A base name; the database scopes it (per schema), the same way for `noticeChannel`. */
    channel: string,
    onMessage: (payload: string) => void,
    onState: (up: boolean) => void,
  ): Promise<() => Promise<void>>;
  /** PostgreSQL: the channel name to `pg_notify` for a base name given to `listen`. */
  noticeChannel?(channel: string): string;
  close(): Promise<void>;
}

export interface PurgeOptions {
  onRetry?: (attempt: number, reason: string) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface PurgeReport {
  engine: 'sqlite' | 'postgres';
  /** What was done, in words, for the receipt. */
  done: string;
  /** What the engine may still hold, in words, for the receipt (never hidden). */
  remains: string;
  attempts: number;
}

export type WriteLane = 'ack' | 'default' | 'delivery';

export interface WriteOptions {
  /**
   * The op runs exactly one statement and nothing else (one round trip on PostgreSQL): a group
   * of only such ops sends them all at once, and one alone commits without BEGIN and COMMIT (a
   * statement is atomic by itself). SQLite runs it like any write.
   */
  statement?: boolean;
}

/**
 * A group-committed write of one statement (`WriteOptions.statement`, true by construction here).
 * Resolves with the number of rows it changed.
 */
export function writeStatement(
  db: SqlDatabase,
  lane: WriteLane,
  sql: string,
  params: readonly unknown[],
): Promise<number> {
  return db.write((tx) => tx.run(sql, params), lane, { statement: true });
}
