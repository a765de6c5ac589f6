import Redis from 'ioredis';

/**
 * Whether a service a test needs is reachable. Locally a missing service skips the suite
 * with a message; under CI (CI set) the suite runs and fails, because CI must prove it.
 */
export async function redisUrlForTests(): Promise<string | undefined> {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return url;
  } catch {
    if (process.env.CI) return url; // let the tests fail loudly
    process.stderr.write(`skipping tests that need Redis: nothing answers at ${url} (set TEST_REDIS_URL)\n`);
    return undefined;
  } finally {
    redis.disconnect();
  }
}
