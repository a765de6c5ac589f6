import { setTimeout as sleep } from 'node:timers/promises';
import { generateMasterKeyText } from '../../src/storage/crypto/master-keys';
import { openStorage, type Storage } from '../../src/storage/open-storage';
import { isStorageUnavailable } from '../../src/storage/storage-unavailable';
import { PrivatePostgres, privatePostgresProblem } from '../helpers/private-services';
import { waitFor } from '../helpers/wait-for';

/**
 * A PostgreSQL of the test's own, restarted with `pg_ctl restart -m fast` (every backend gets
 * 57P01) under the storage: the process lives on, the operations in flight fail as "unavailable",
 * the pool serves again, and the key ring drops what it cached (it may have missed a shred).
 */
const problem = privatePostgresProblem();
if (problem && process.env.CI)
  throw new Error(`the PostgreSQL restart tests need a private PostgreSQL under CI: ${problem}`);
if (problem) process.stderr.write(`skipping the PostgreSQL restart tests: ${problem}\n`);
const describeIf = problem ? describe.skip : describe;

describeIf('PostgreSQL restarted under the storage', () => {
  let pg: PrivatePostgres;
  let storage: Storage;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    storage = await openStorage({
      kind: 'postgres',
      dataDir: '',
      databaseUrl: pg.url,
      masterKeys: { key: generateMasterKeyText(), previous: [] },
    });
  });
  afterAll(async () => {
    await storage.close();
    pg.destroy();
  });

  it('fails a transaction whose connection is terminated between two queries, and serves the next', async () => {
    const { db } = storage.sql!;
    const inFlight = db.transaction(async (tx) => {
      await tx.all('SELECT 1');
      await sleep(1_500); // the connection is checked out, idle: its 'error' is nobody's but ours
      return tx.all('SELECT 2');
    });
    await sleep(200);
    pg.restart();
    const failure = await inFlight.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeDefined();
    expect(isStorageUnavailable(failure)).toBe(true);
    let served = false;
    for (let i = 0; i < 20 && !served; i++) {
      served = await db.all('SELECT 1 AS one').then(
        () => true,
        () => false,
      );
    }
    expect(served).toBe(true);
  }, 30_000);

  it('drops every cached key when its shred listener reconnects, and serves keys again', async () => {
    const { keys } = storage.sql!;
    await keys.keyFor('T1', 'team', '');
    expect(keys.cachedKeys).toBeGreaterThan(0);
    pg.restart();
    await waitFor('the cache dropped', () => keys.cachedKeys === 0, 10_000, 20);
    // Listening again (it re-LISTENs with backoff): a key is cached again once read.
    let cached = false;
    for (let i = 0; i < 50 && !cached; i++) {
      await keys.keyFor('T1', 'team', '').catch(() => undefined);
      cached = keys.cachedKeys > 0;
      if (!cached) await sleep(100);
    }
    expect(cached).toBe(true);
  }, 30_000);
});
