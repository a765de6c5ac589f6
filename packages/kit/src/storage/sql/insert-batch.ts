import type { SqlDatabase, SqlRunner, WriteLane } from './sql-database';
import { WriteGather } from './write-gather';

/** Rows per PostgreSQL statement (a group larger than this takes several). */
const MAX_ROWS = 2_000;

/** A column and its PostgreSQL type (rows travel as one array per column). */
export type Column = readonly [name: string, pgType: 'text' | 'bigint' | 'bytea'];

export interface InsertSpec {
  table: string;
  columns: readonly Column[];
  /** The unique column that tells which rows were new. */
  key: string;
}

interface Row {
  key: string;
  params: readonly unknown[];
}

/**
 * One `INSERT ... ON CONFLICT DO NOTHING` for many rows in a transaction. On PostgreSQL they go
 * as one statement (`unnest` of one array per column, `RETURNING <key>` telling which rows were
 * new): one round trip per group instead of one per row. On SQLite, in-process, a prepared
 * one-row statement per row is cheaper than binding a wide one (measured).
 */
export class InsertStatement {
  private readonly oneRow: string;
  private readonly unnest: string;

  constructor(
    private readonly dialect: SqlDatabase['dialect'],
    private readonly spec: InsertSpec,
  ) {
    const names = spec.columns.map(([name]) => name).join(', ');
    this.oneRow = `INSERT INTO ${spec.table} (${names}) VALUES (${spec.columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
    this.unnest = `INSERT INTO ${spec.table} (${names}) ${unnestOf(spec)} ON CONFLICT DO NOTHING RETURNING ${spec.key}`;
  }

  /**
   * PostgreSQL: one statement inserting `rows`, then the rows of `companion` whose key was new
   * (a data-modifying CTE; atomic like any statement). Resolves with the new keys.
   */
  async insertWith(
    tx: SqlRunner,
    rows: readonly Row[],
    companion: InsertSpec,
    companions: readonly Row[],
  ): Promise<Set<string>> {
    const sorted = byKey(rows);
    const names = companion.columns.map(([name]) => name).join(', ');
    const sql = `WITH new AS (${this.unnest}),
      companion AS (INSERT INTO ${companion.table} (${names}) SELECT * FROM (${unnestOf(companion)}) AS c(${names})
        WHERE c.${companion.key} IN (SELECT ${this.spec.key} FROM new) ON CONFLICT DO NOTHING)
      SELECT ${this.spec.key} FROM new`;
    const returned = await tx.all<Record<string, string>>(sql, [
      ...this.spec.columns.map((_, c) => sorted.map((r) => r.params[c])),
      ...companion.columns.map((_, c) => byKey(companions).map((r) => r.params[c])),
    ]);
    return new Set(returned.map((r) => r[this.spec.key]!));
  }

  /** Inserts the rows; resolves with the keys of those that were new. */
  async insertAll(tx: SqlRunner, group: readonly Row[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    if (group.length === 0) return inserted;
    if (this.dialect === 'sqlite') {
      for (const row of group) if ((await tx.run(this.oneRow, row.params)) === 1) inserted.add(row.key);
      return inserted;
    }
    const rows = byKey(group);
    for (let at = 0; at < rows.length; at += MAX_ROWS) {
      const chunk = rows.slice(at, at + MAX_ROWS);
      const arrays = this.spec.columns.map((_, c) => chunk.map((r) => r.params[c]));
      const returned = await tx.all<Record<string, string>>(this.unnest, arrays);
      for (const r of returned) inserted.add(r[this.spec.key]!);
    }
    return inserted;
  }
}

/** One array per column, as `SELECT * FROM unnest(...)`. */
function unnestOf(spec: InsertSpec): string {
  return `SELECT * FROM unnest(${spec.columns.map(([, type]) => `?::${type}[]`).join(', ')})`;
}

/** In key order, so concurrent groups take their row locks in one order: no deadlock. */
function byKey(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

interface Pending extends Row {
  /** A row of the companion table, written only if this row is new. */
  companion?: readonly unknown[];
}

/**
 * Rows of one insert gathered while the database commits the previous group, then written in
 * that group's transaction. Each caller learns, once the commit is durable, whether its row was
 * inserted (false: the key was there already, or came earlier in the same group).
 *
 * A row may bring a row of a `companion` table (same key): it is inserted in the same
 * transaction, and only when the first row is new, so the two are durable together or not at
 * all (the inbox stores a message event's text once, as the message: `SqlEventInbox`).
 */
export class InsertBatch {
  private readonly gather: WriteGather<Pending, boolean>;
  private readonly statement: InsertStatement;
  private readonly companion: InsertStatement | undefined;

  constructor(db: SqlDatabase, spec: InsertSpec & { lane: WriteLane; companion?: InsertSpec }) {
    this.statement = new InsertStatement(db.dialect, spec);
    this.companion = spec.companion && new InsertStatement(db.dialect, spec.companion);
    // PostgreSQL: a group is one statement (rows and companions together), a round trip.
    const pg = db.dialect === 'postgres';
    this.gather = new WriteGather(
      db,
      spec.lane,
      pg ? { statement: true, maxItems: MAX_ROWS } : {},
      async (tx, rows) => {
        // A key twice in one group: only its first row counts (and brings its companion).
        const seen = new Set<string>();
        const firsts = rows.map((row) => {
          const first = !seen.has(row.key);
          seen.add(row.key);
          return first;
        });
        const companions: Row[] = [];
        rows.forEach((row, i) => {
          if (firsts[i] && row.companion) companions.push({ key: row.key, params: row.companion });
        });
        if (pg && spec.companion) {
          const inserted = await this.statement.insertWith(tx, rows, spec.companion, companions);
          return rows.map((row, i) => firsts[i]! && inserted.has(row.key));
        }
        const inserted = await this.statement.insertAll(tx, rows);
        const fresh = companions.filter((c) => inserted.has(c.key));
        if (fresh.length > 0) await this.companion!.insertAll(tx, fresh);
        return rows.map((row, i) => firsts[i]! && inserted.has(row.key));
      },
    );
  }

  /**
   * `params` in the order of `columns`; `key` is the row's value of the `key` column;
   * `companion`, in the order of the companion's columns, is inserted with it when it is new.
   */
  insert(key: string, params: readonly unknown[], companion?: readonly unknown[]): Promise<boolean> {
    if (companion && !this.companion) throw new Error('this batch has no companion table');
    return this.gather.add(companion ? { key, params, companion } : { key, params });
  }
}
