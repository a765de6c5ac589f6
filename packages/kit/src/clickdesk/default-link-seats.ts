import type { AppConfig } from '../config/load-config';
import type { LinkSeatStore } from './link-seats';
import { MemoryLinkSeats } from './memory-link-seats';
import { RedisLinkSeats } from './redis-link-seats';

/**
 * The link register an app uses unless it is given one: in Redis when REDIS_URL is set (every
 * instance of the app shares ClickDesk's link cap there, beside the rate budget), else in this
 * process (one instance: SQLite, or a lone PostgreSQL instance).
 */
export function defaultLinkSeats(rate: Pick<AppConfig['rate'], 'redisUrl'>): LinkSeatStore {
  return rate.redisUrl ? new RedisLinkSeats(rate.redisUrl) : new MemoryLinkSeats();
}
