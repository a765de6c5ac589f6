import type { SqlDatabase, SqlRunner, WriteLane } from './sql-database';
import { WriteGather } from './write-gather';

interface Row {
  key: string;
  params: readonly unknown[];
}

/** Rows per PostgreSQL statement (a group larger than this takes several). */
const MAX_ROWS = 2_000;

/** A column and its PostgreSQL type (rows travel as one array per column). */
export type Column = readonly [name: string, pgType: 'text' | 'bigint' | 'bytea'];

/**
 * Rows of one `INSERT ... ON CONFLICT DO NOTHING` gathered while the database commits the
 * previous group, then written in that group's transaction. On PostgreSQL they go as one
 * statement (`unnest` of one array per column, `RETURNING <key>` telling which rows were new):
 * one round trip per group instead of one per row. On SQLite, in-process, a prepared one-row
 * statement per row is cheaper than binding a wide one (measured). Each caller learns, once the
 * commit is durable, whether its row was inserted (false: the key was there already, or came
 * earlier in the same group).
 */
export class InsertBatch {
  private readonly gather: WriteGather<Row, boolean>;
  private readonly oneRow: string;
  private readonly unnest: string;

  constructor(
    private readonly db: SqlDatabase,
    private readonly spec: { table: string; columns: readonly Column[]; key: string; lane: WriteLane },
  ) {
    const names = spec.columns.map(([name]) => name).join(', ');
    this.oneRow = `INSERT INTO ${spec.table} (${names}) VALUES (${spec.columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
    this.unnest = `INSERT INTO ${spec.table} (${names}) SELECT * FROM unnest(${spec.columns.map(([, type]) => `?::${type}[]`).join(', ')}) ON CONFLICT DO NOTHING RETURNING ${spec.key}`;
    this.gather = new WriteGather(db, spec.lane, async (tx, rows) => {
      const inserted = await this.insertAll(tx, rows);
      // A key twice in one group: only its first row counts as inserted.
      const seen = new Set<string>();
      return rows.map((row) => {
        const first = !seen.has(row.key);
        seen.add(row.key);
        return first && inserted.has(row.key);
      });
    });
  }

  /** `params` in the order of `columns`; `key` is the row's value of the `key` column. */
  insert(key: string, params: readonly unknown[]): Promise<boolean> {
    return this.gather.add({ key, params });
  }

  private async insertAll(tx: SqlRunner, group: readonly Row[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    if (this.db.dialect === 'sqlite') {
      for (const row of group) if ((await tx.run(this.oneRow, row.params)) === 1) inserted.add(row.key);
      return inserted;
    }
    // In key order, so concurrent groups take their row locks in one order: no deadlock.
    const rows = [...group].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (let at = 0; at < rows.length; at += MAX_ROWS) {
      const chunk = rows.slice(at, at + MAX_ROWS);
      const arrays = this.spec.columns.map((_, c) => chunk.map((r) => r.params[c]));
      const returned = await tx.all<Record<string, string>>(this.unnest, arrays);
      for (const r of returned) inserted.add(r[this.spec.key]!);
    }
    return inserted;
  }
}
