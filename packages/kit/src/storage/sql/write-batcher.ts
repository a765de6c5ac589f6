import type { SqlRunner, WriteOptions } from './sql-database';

interface Queued {
  op: (tx: SqlRunner) => Promise<unknown>;
  statement: boolean;
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

/**
 * Runs `fn` in a transaction; resolves after COMMIT, not necessarily after it is durable. With
 * `autocommit`, `fn` runs one statement, which commits alone (no BEGIN, no COMMIT).
 */
export type CommitFn = <T>(
  fn: (tx: SqlRunner) => Promise<T>,
  shape: { autocommit: boolean },
) => Promise<Committed<T>>;

export interface WriteBatcherOptions {
  /** Writes per group. */
  maxBatch?: number;
  /** Groups committing at once. */
  parallel?: number;
  /**
   * The connection pipelines (PostgreSQL): a group of only one-statement writes starts them all
   * at once, and a single one commits alone. Without it every write runs in turn.
   */
  pipelined?: boolean;
}

/**
 * Group commit: writes queue while a transaction is committing; the next transaction takes them
 * all (up to `maxBatch`). Each write resolves once its commit is durable. With `parallel` above
 * 1 (PostgreSQL, over a pool), that many groups commit at once, so their round trips and commit
 * latencies overlap. If a batch fails, its writes are retried one by one, so one bad write fails
 * alone.
 */
export class WriteBatcher {
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly parallel: number;
  private readonly pipelined: boolean;

  constructor(
    private readonly commit: CommitFn,
    options: WriteBatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.parallel = options.parallel ?? 1;
    this.pipelined = options.pipelined ?? false;
  }

  write<T>(op: (tx: SqlRunner) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const statement = this.pipelined && options.statement === true;
      this.queue.push({ op, statement, resolve: resolve as (v: unknown) => void, reject });
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
    // Writes of one statement each do not wait on one another: sent together, one round trip.
    const statements = batch.every((w) => w.statement);
    let committed: Committed<unknown[]>;
    try {
      committed = await this.commit(
        statements
          ? (tx) => Promise.all(batch.map((w) => w.op(tx)))
          : async (tx) => {
              const out: unknown[] = [];
              for (const w of batch) out.push(await w.op(tx));
              return out;
            },
        { autocommit: statements && batch.length === 1 },
      );
    } catch {
      for (const w of batch) {
        try {
          const one = await this.commit((tx) => w.op(tx), { autocommit: w.statement });
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
