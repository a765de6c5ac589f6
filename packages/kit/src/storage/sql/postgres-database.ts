import pg from 'pg';
import { listenForNotices } from './postgres-listener';
import { purgePostgres } from './postgres-purge';
import type {
  PurgeOptions,
  PurgeReport,
  SqlDatabase,
  SqlRunner,
  WriteLane,
  WriteOptions,
} from './sql-database';
import { WriteBatcher, type Committed } from './write-batcher';

// BIGINT columns hold millisecond timestamps and counts: safe as JavaScript numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Recording groups committing at once (the pool holds 10 connections by default). */
const ACK_GROUPS = 3;

/** `?` placeholders, numbered for PostgreSQL. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class PgRunner implements SqlRunner {
  constructor(private readonly client: pg.Pool | pg.PoolClient) {}

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.client.query(numbered(sql), params as unknown[])).rowCount ?? 0;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.client.query(numbered(sql), params as unknown[])).rows as T[];
  }
}

/** PostgreSQL through a `pg` pool, for several instances sharing one database (DATABASE_URL). */
export class PostgresDatabase extends PgRunner implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly batchers: Record<WriteLane, WriteBatcher>;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema?: string,
    private readonly connection?: pg.ClientConfig,
  ) {
    super(pool);
    this.batchers = {
      // Recording commits in parallel groups over the pool, so intake is not one commit
      // latency at a time. Its inserts take row locks in key order (InsertBatch): they cannot
      // deadlock each other (a rare deadlock elsewhere fails the group, retried write by write).
      // Handler writes stay one group at a time: their updates (leases) span many rows. The
      // outbox sender's writes (only outbox rows, which handler groups insert and settle but never
      // lease) commit in a lane of their own, so a reply's claim and attempt do not wait for the
      // handler groups ahead of them: a round trip each, not a queue of them.
      ack: new WriteBatcher((fn, shape) => this.committed(fn, shape), {
        parallel: ACK_GROUPS,
        pipelined: true,
      }),
      default: new WriteBatcher((fn, shape) => this.committed(fn, shape), { pipelined: true }),
      delivery: new WriteBatcher((fn, shape) => this.committed(fn, shape), { pipelined: true }),
    };
  }

  static connect(url: string, options: { schema?: string; max?: number } = {}): PostgresDatabase {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      // An unreachable server fails a checkout after this long instead of hanging it.
      connectionTimeoutMillis: 5_000,
      // A statement is sent without waiting for the answer to the one before (each still has its
      // own Sync, so an error fails only its own and, in a transaction, the statements after it).
      pipeline: true,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // A server restart or a dropped connection is weather, not death (docs/operations.md): an
    // error on an idle client (the pool's 'error') or on one checked out between two queries
    // (the client's own 'error', which the pool does not listen to then) fails the operations
    // that use it, never the process. A dead client is not queryable and the pool discards it.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new PostgresDatabase(pool, options.schema, { connectionString: url });
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opts: { lazySync?: boolean } = {}): Promise<T> {
    const client = await this.pool.connect();
    try {
      // lazySync: COMMIT returns before the WAL flush; the WAL writer flushes it within a few
      // hundred ms, and any later synchronous commit carries it. A crash may lose the transaction
      // whole (asynchronous commit never loses part of one, nor reorders it after a later commit).
      // BEGIN is not awaited: the first statement travels with it (a round trip fewer).
      const begun = client.query(opts.lazySync ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
      begun.catch(() => undefined);
      const value = await fn(new PgRunner(client));
      await begun;
      // A statement failed unseen (the transaction aborted): COMMIT answers ROLLBACK, not an error.
      if ((await client.query('COMMIT')).command !== 'COMMIT')
        throw new Error('the transaction was rolled back');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * COMMIT returns once the commit is durable (synchronous_commit), and so does a statement
   * outside a transaction (`autocommit`: one statement, atomic alone, without BEGIN and COMMIT).
   */
  private async committed<T>(
    fn: (tx: SqlRunner) => Promise<T>,
    { autocommit }: { autocommit: boolean },
  ): Promise<Committed<T>> {
    return { value: await (autocommit ? fn(this) : this.transaction(fn)), durable: Promise.resolve() };
  }

  write<T>(
    op: (tx: SqlRunner) => Promise<T>,
    lane: WriteLane = 'default',
    options?: WriteOptions,
  ): Promise<T> {
    return this.batchers[lane].write(op, options);
  }

  checkpoint(): Promise<void> {
    return Promise.resolve();
  }

  purge(tables: readonly string[], options: PurgeOptions = {}): Promise<PurgeReport> {
    return purgePostgres(this.pool, tables, options);
  }

  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onState: (up: boolean) => void,
  ): Promise<() => Promise<void>> {
    if (!this.connection) throw new Error('listen needs a database opened with PostgresDatabase.connect');
    return listenForNotices(this.connection, this.noticeChannel(channel), onMessage, onState);
  }

  /** Channels are database-wide: instances on another schema must not hear this one's notices. */
  noticeChannel(channel: string): string {
    return this.schema ? `${channel}_${this.schema.toLowerCase()}` : channel;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
