import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { BucketSpec } from './bucket-spec';
import type { Acquire, RateStore } from './rate-store';

// Atomic over all buckets, on Redis's own clock so every instance agrees on "now".
// Windows are sorted sets of call times; token buckets are hashes {tokens, at}.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local wait = 0
local state = {}
local full = {}
for i = 1, n do
  local kind, a, b = ARGV[(i-1)*3+1], tonumber(ARGV[(i-1)*3+2]), tonumber(ARGV[(i-1)*3+3])
  if kind == 'w' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - b)
    local c = redis.call('ZCARD', KEYS[i])
    if c >= a then
      local oldest = redis.call('ZRANGE', KEYS[i], c - a, c - a, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + b - now)
      table.insert(full, i)
    end
  else
    local h = redis.call('HMGET', KEYS[i], 'tokens', 'at')
    local tokens = math.min(b, (tonumber(h[1]) or b) + (now - (tonumber(h[2]) or now)) / 1000 * a)
    state[i] = tokens
    if tokens < 1 then
      wait = math.max(wait, math.ceil((1 - tokens) / a * 1000))
      table.insert(full, i)
    end
  end
end
if wait > 0 then return {0, math.ceil(wait), unpack(full)} end
local member = ARGV[n*3+1]
for i = 1, n do
  local kind, a, b = ARGV[(i-1)*3+1], tonumber(ARGV[(i-1)*3+2]), tonumber(ARGV[(i-1)*3+3])
  if kind == 'w' then
    redis.call('ZADD', KEYS[i], now, member .. ':' .. i)
    redis.call('PEXPIRE', KEYS[i], b + 1000)
  else
    redis.call('HSET', KEYS[i], 'tokens', state[i] - 1, 'at', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil(b / a * 1000) + 1000)
  end
end
return {1, 0}
`;

const USED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local c = redis.call('ZCARD', KEYS[1])
local want = tonumber(ARGV[2])
for i = c + 1, want do redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i) end
if want > c then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000) end
return math.max(c, want)
`;

type RedisWithScripts = Redis & {
  governorAcquire(...args: Array<string | number>): Promise<number[]>;
  governorUsed(key: string, windowMs: number, want: number, member: string): Promise<number>;
};

/** One budget shared by every instance of the app, in Redis (REDIS_URL). */
export class RedisRateStore implements RateStore {
  private readonly redis: RedisWithScripts;

  constructor(
    url: string,
    private readonly prefix = 'clickdesk:rate:',
  ) {
    const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    redis.defineCommand('governorAcquire', { lua: ACQUIRE });
    redis.defineCommand('governorUsed', { numberOfKeys: 1, lua: USED });
    // Connection errors surface on the calls that fail; ioredis reconnects by itself.
    redis.on('error', () => undefined);
    this.redis = redis as RedisWithScripts;
  }

  async tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire> {
    const args: Array<string | number> = [buckets.length, ...buckets.map((b) => this.prefix + b.key)];
    for (const b of buckets) {
      if (b.kind === 'window') args.push('w', b.limit, b.windowMs);
      else args.push('t', b.ratePerSec, b.burst);
    }
    args.push(randomUUID());
    const [ok, wait, ...full] = await this.redis.governorAcquire(...args);
    if (ok === 1) return { ok: true };
    return { ok: false, waitMs: Math.max(1, Number(wait)), full: full.map((i) => buckets[i - 1]?.key ?? '') };
  }

  used(bucket: Extract<BucketSpec, { kind: 'window' }>): Promise<number> {
    return this.redis.governorUsed(this.prefix + bucket.key, bucket.windowMs, 0, '');
  }

  async reconcile(bucket: Extract<BucketSpec, { kind: 'window' }>, serverUsed: number): Promise<void> {
    await this.redis.governorUsed(
      this.prefix + bucket.key,
      bucket.windowMs,
      Math.min(serverUsed, bucket.limit),
      `phantom:${randomUUID()}`,
    );
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
