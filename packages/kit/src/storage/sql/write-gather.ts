import type { SqlDatabase, SqlRunner, WriteLane } from './sql-database';

export interface GatherOptions {
  /** `run` runs one statement however many items (see `WriteOptions`). */
  statement?: boolean;
  /** Items per group at most; the rest wait for the next group. */
  maxItems?: number;
}

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers items while the database commits the previous group, then writes them all with one
 * operation in the next group's transaction (`run` answers each item, in order): a few
 * statements per group instead of a few per item, which on PostgreSQL are round trips. Each
 * caller's promise settles once that commit is durable. A group that fails is written again
 * item by item, so one bad item fails alone.
 */
export class WriteGather<I, R> {
  private pending: Array<Pending<I, R>> = [];
  private queued = false;

  constructor(
    private readonly db: SqlDatabase,
    private readonly lane: WriteLane,
    private readonly options: GatherOptions,
    private readonly run: (tx: SqlRunner, items: readonly I[]) => Promise<readonly R[]>,
  ) {}

  add(item: I): Promise<R> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.queued) this.queue();
    });
  }

  private queue(): void {
    this.queued = true;
    let group: Array<Pending<I, R>> | undefined;
    // Taken when the transaction first runs the operation (a retry runs it on the same items).
    const take = (): Array<Pending<I, R>> => {
      if (!group) {
        group = this.pending.splice(0, this.options.maxItems ?? Infinity);
        this.queued = false;
        if (this.pending.length > 0) this.queue();
      }
      return group;
    };
    this.db
      .write(
        (tx) =>
          this.run(
            tx,
            take().map((p) => p.item),
          ),
        this.lane,
        { statement: this.options.statement },
      )
      .then(
        (results) => take().forEach((p, i) => p.resolve(results[i]!)),
        () => {
          // One bad item must not fail the others: each is written alone, as WriteBatcher does.
          for (const p of take()) {
            this.db
              .write((tx) => this.run(tx, [p.item]), this.lane, { statement: this.options.statement })
              .then((r) => p.resolve(r[0]!), p.reject);
          }
        },
      );
  }
}
