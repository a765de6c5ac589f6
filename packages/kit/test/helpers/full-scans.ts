import type { SqlDatabase } from '../../src/storage/sql/sql-database';

/** Tables the plan reads whole: SQLite's `SCAN t` (or over a full index); PostgreSQL's `Seq Scan`. */
export async function fullScans(db: SqlDatabase, sql: string, params: unknown[]): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const [row] = await db.all<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    const scans: string[] = [];
    const walk = (node: Record<string, unknown>): void => {
      if (node['Node Type'] === 'Seq Scan') scans.push(String(node['Relation Name']));
      for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
    };
    walk((row!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
    return scans;
  }
  // A scan over a partial index reads only the rows the index keeps (e.g. unfinished jobs).
  const partial = new Set(
    (
      await db.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'",
      )
    ).map((r) => r.name),
  );
  const plan = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
  // `SEARCH t` with no index named is the MIN/MAX shortcut failing: a walk of the whole table.
  return plan
    .map((step) =>
      /^(SCAN|SEARCH) (\w+)( USING (?:(?:COVERING )?INDEX (\w+)|INTEGER PRIMARY KEY))?/.exec(step.detail),
    )
    .filter((m): m is RegExpExecArray => m !== null)
    .filter((m) => (m[1] === 'SEARCH' ? m[3] === undefined : !(m[4] && partial.has(m[4]))))
    .map((m) => m[2]!);
}
