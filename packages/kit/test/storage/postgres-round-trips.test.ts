import { randomBytes } from 'node:crypto';
import { PostgresDatabase } from '../../src/storage/sql/postgres-database';
import { PgWireRecorder } from '../helpers/pg-wire-recorder';
import { adminQuery, TEST_DATABASE_URL } from '../helpers/storage-fixtures';

const describePg = process.env.TEST_PG === '1' ? describe : describe.skip;

/**
 * Writes on PostgreSQL spend as few round trips as their statements allow: a one-statement
 * write commits alone, without BEGIN and COMMIT; a group of them is sent at once; a group
 * still fails only the write at fault. Seen on the wire, through a proxy in front of the server.
 */
describePg('PostgreSQL write round trips', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let wire: PgWireRecorder;
  let db: PostgresDatabase;
  const insert = (n: number) => (tx: { run: PostgresDatabase['run'] }) =>
    tx.run('INSERT INTO trips (n) VALUES (?)', [n]);

  beforeAll(async () => {
    await adminQuery(`CREATE SCHEMA ${schema}`);
    const url = new URL(TEST_DATABASE_URL);
    wire = await PgWireRecorder.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(wire.port);
    db = PostgresDatabase.connect(url.toString(), { schema });
    await db.run('CREATE TABLE trips (n INTEGER PRIMARY KEY)');
  });
  afterAll(async () => {
    await db.close();
    await wire.close();
    await adminQuery(`DROP SCHEMA ${schema} CASCADE`);
  });
  beforeEach(() => wire.reset());

  const stored = async () => (await db.all<{ n: number }>('SELECT n FROM trips ORDER BY n')).map((r) => r.n);

  it('commits a one-statement write alone: no BEGIN, no COMMIT, one round trip', async () => {
    expect(await db.write(insert(1), 'default', { statement: true })).toBe(1);
    expect(wire.statements).toEqual(['INSERT INTO trips (n) VALUES ($1)']);
    expect(wire.flights).toBe(1);
    expect(await stored()).toEqual([1]);
  });

  it('sends a group of one-statement writes at once: BEGIN and all of them, then COMMIT', async () => {
    const writes = [2, 3, 4].map((n) => db.write(insert(n), 'delivery', { statement: true }));
    expect(await Promise.all(writes)).toEqual([1, 1, 1]);
    expect(wire.statements).toEqual([
      'BEGIN',
      ...[2, 3, 4].map(() => 'INSERT INTO trips (n) VALUES ($1)'),
      'COMMIT',
    ]);
    expect(wire.flights).toBe(2);
  });

  it('still runs a write of several statements in a transaction, BEGIN sent with the first', async () => {
    await db.write(async (tx) => {
      await tx.run('INSERT INTO trips (n) VALUES (?)', [5]);
      await tx.run('UPDATE trips SET n = 6 WHERE n = ?', [5]);
    });
    expect(wire.statements).toEqual([
      'BEGIN',
      'INSERT INTO trips (n) VALUES ($1)',
      'UPDATE trips SET n = 6 WHERE n = $1',
      'COMMIT',
    ]);
    expect(wire.flights).toBe(3);
  });

  it('fails only the bad write of a group sent at once; the others commit', async () => {
    const outcomes = await Promise.allSettled(
      [7, 1, 8].map((n) => db.write(insert(n), 'default', { statement: true })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await stored()).toEqual([1, 2, 3, 4, 6, 7, 8]);
  });
});
