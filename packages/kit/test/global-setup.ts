import Redis from 'ioredis';
import pg from 'pg';

/**
 * Finds the services the scale-out tests need (PostgreSQL, Redis) once, before any worker
 * starts, and tells the workers through the environment. Locally a missing service skips those
 * suites with a message; under CI it fails the run, because CI must prove those paths.
 */
export default async function globalSetup(): Promise<void> {
  const pgUrl = (process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test');
  const redisUrl = (process.env.TEST_REDIS_URL ??= 'redis://127.0.0.1:6379');
  const problems: string[] = [];

  try {
    const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
    process.env.TEST_PG = '1';
  } catch (err) {
    problems.push(`PostgreSQL at ${pgUrl}: ${(err as Error).message}`);
  }

  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    process.env.TEST_REDIS = '1';
  } catch (err) {
    problems.push(`Redis at ${redisUrl}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }

  if (problems.length === 0) return;
  if (process.env.CI)
    throw new Error(`services the tests need are not reachable under CI:\n  ${problems.join('\n  ')}`);
  process.stderr.write(
    `skipping the tests that need: \n  ${problems.join('\n  ')}\n(set TEST_DATABASE_URL / TEST_REDIS_URL)\n`,
  );
}
