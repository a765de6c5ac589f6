import type { SqlDatabase, SqlRunner, WriteLane } from './sql-database';

interface PendingRow {
  key: string;
  params: readonly unknown[];
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
}

/** Statement sizes, largest first: a group is cut into these, so each dialect prepares at most five. */
const BUCKETS = [256, 64, 16, 4, 1] as const;

/**
 * Rows of one `INSERT ... ON CONFLICT DO NOTHING` gathered while the database commits the
 * previous group, then written in that group's transaction by a few multi-row statements
 * (`RETURNING <key>` tells which rows were new) instead of one statement, and on PostgreSQL
 * one round trip, per row. Each caller learns, once the commit is durable, whether its row was
 * inserted (false: the key was there already, or came earlier in the same group).
 */
export class InsertBatch {
  private pending: PendingRow[] = [];
  private queued = false;
  private readonly statements = new Map<number, string>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly spec: { table: string; columns: readonly string[]; key: string; lane: WriteLane },
  ) {}

  /** `params` in the order of `columns`; `key` is the row's value of the `key` column. */
  insert(key: string, params: readonly unknown[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, params, resolve, reject });
      if (!this.queued) this.queue();
    });
  }

  private queue(): void {
    this.queued = true;
    let rows: PendingRow[] | undefined;
    // Taken when the group's transaction runs it (a retry runs it again: the same rows).
    const take = (): PendingRow[] => {
      if (!rows) {
        rows = this.pending.splice(0);
        this.queued = false;
      }
      return rows;
    };
    this.db
      .write((tx) => this.insertAll(tx, take()), this.spec.lane)
      .then(
        (inserted) => {
          const seen = new Set<string>();
          for (const row of take()) {
            row.resolve(inserted.has(row.key) && !seen.has(row.key));
            seen.add(row.key);
          }
        },
        (err: unknown) => {
          for (const row of take()) row.reject(err);
        },
      );
  }

  private async insertAll(tx: SqlRunner, group: readonly PendingRow[]): Promise<Set<string>> {
    // In key order, so concurrent groups (PostgreSQL) take their row locks in one order: no deadlock.
    const rows = [...group].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const inserted = new Set<string>();
    if (this.db.dialect === 'sqlite') {
      // In-process: a prepared one-row statement per row costs no round trip, and less than
      // binding a wide multi-row one (measured).
      for (const row of rows) if ((await tx.run(this.sql(1, false), row.params)) === 1) inserted.add(row.key);
      return inserted;
    }
    let at = 0;
    while (at < rows.length) {
      const size = BUCKETS.find((b) => b <= rows.length - at) ?? 1;
      const chunk = rows.slice(at, at + size);
      at += size;
      const returned = await tx.all<Record<string, string>>(
        this.sql(size),
        chunk.flatMap((r) => r.params),
      );
      for (const r of returned) inserted.add(r[this.spec.key]!);
    }
    return inserted;
  }

  private sql(rows: number, returning = true): string {
    const id = returning ? rows : -rows;
    let sql = this.statements.get(id);
    if (!sql) {
      const { table, columns, key } = this.spec;
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')} ON CONFLICT DO NOTHING${returning ? ` RETURNING ${key}` : ''}`;
      this.statements.set(id, sql);
    }
    return sql;
  }
}
