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
  write<T>(op: (tx: SqlRunner) => Promise<T>, lane?: WriteLane): Promise<T>;
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

interface Queued {
  op: (tx: SqlRunner) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * A transaction that returned from COMMIT: `value` is the function's result, `durable` resolves
 * once the commit is durable (at once where COMMIT itself waits for it, e.g. PostgreSQL).
 */
export interface Committed<T> {
  value: T;
  durable: Promise<void>;
}

/** Runs `fn` in a transaction; resolves after COMMIT, not necessarily after it is durable. */
export type CommitFn = <T>(fn: (tx: SqlRunner) => Promise<T>) => Promise<Committed<T>>;

/**
 * Group commit: writes queue while a transaction is committing; the next transaction takes them
 * all (up to `maxBatch`). Each write resolves once its commit is durable. With `parallel` above 1 (PostgreSQL, over a pool), that many
 * groups commit at once, so their round trips and commit latencies overlap. If a batch fails,
 * its writes are retried one by one, so one bad write fails alone.
 */
export class WriteBatcher {
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly commit: CommitFn,
    private readonly maxBatch = 2000,
    private readonly parallel = 1,
  ) {}

  write<T>(op: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (this.inFlight < this.parallel && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Starts groups while there are writes queued and a free slot. */
  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.parallel) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.commitGroup(batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }

  /** Resolves once the group is durable (its writes resolved). */
  private async commitGroup(batch: Queued[]): Promise<void> {
    let committed: Committed<unknown[]>;
    try {
      committed = await this.commit(async (tx) => {
        const out: unknown[] = [];
        for (const w of batch) out.push(await w.op(tx));
        return out;
      });
    } catch {
      for (const w of batch) {
        try {
          const one = await this.commit((tx) => w.op(tx));
          settle(one, w.resolve, w.reject);
        } catch (err) {
          w.reject(err);
        }
      }
      return;
    }
    const results = committed.value;
    settle(
      committed,
      () => batch.forEach((w, i) => w.resolve(results[i])),
      (err) => batch.forEach((w) => w.reject(err)),
    );
    // The slot frees once the group is durable: writes queue meanwhile and the next group takes
    // them all (fewer, larger commits; a commit rewrites every page it touches).
    await committed.durable.catch(() => undefined);
  }
}

/** Resolves with the committed value once it is durable; never leaves a rejection unhandled. */
function settle<T>(
  committed: Committed<T>,
  resolve: (value: T) => void,
  reject: (err: unknown) => void,
): void {
  committed.durable.then(() => resolve(committed.value), reject);
}
