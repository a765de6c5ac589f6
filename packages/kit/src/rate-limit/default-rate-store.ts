import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load-config';
import { FallbackRateStore } from './fallback-rate-store';
import { MemoryRateStore } from './memory-rate-store';
import type { RateStore } from './rate-store';
import { RedisRateStore } from './redis-rate-store';

/**
 * The rate store an app plans with unless it is given one: Redis when REDIS_URL is set (one
 * budget for every instance), falling back to a local share of each limit while Redis is
 * unreachable; else this process's memory.
 */
export function defaultRateStore(
  rate: Pick<AppConfig['rate'], 'redisUrl' | 'fallbackInstances'>,
  logger: Logger,
): RateStore {
  if (!rate.redisUrl) return new MemoryRateStore();
  const redis = new RedisRateStore(rate.redisUrl);
  // Counted among the instances planning with Redis, so a fallback knows how many share the limits.
  const instanceId = randomUUID();
  return new FallbackRateStore({
    shared: redis,
    instances: rate.fallbackInstances ?? 2,
    countInstances: () => redis.instances(instanceId),
    logger: logger.child({ part: 'rate-store' }),
  });
}
