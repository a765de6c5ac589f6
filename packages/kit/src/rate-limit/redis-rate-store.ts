import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { BucketSpec, WindowBucket } from './bucket-spec';
import type { Acquire, LimitChange, RateStore, ServerView, Ticket } from './rate-store';

// Every script runs on Redis's own clock, so every instance agrees on "now" whatever its own
// clock says. Windows are sorted sets of call times (an unsettled call sits at its in-flight
// bound); conversation cells are hashes {tat, busy, until}; a limit the server reported is a
// hash {limit, at} beside its window, read by every instance.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: per bucket, its state key then its limit key. ARGV: per bucket kind, a, b, margin, inflight,
// share (the part of a window's limit this call may fill; 1 for the whole); then the ticket id.
const ACQUIRE = `${NOW}
local n = #KEYS / 2
local wait = 0
local full = {}
local tats = {}
for i = 1, n do
  local k, lk = KEYS[2*i-1], KEYS[2*i]
  local kind, a, b, m, f, s = ARGV[(i-1)*6+1], tonumber(ARGV[(i-1)*6+2]), tonumber(ARGV[(i-1)*6+3]), tonumber(ARGV[(i-1)*6+4]), tonumber(ARGV[(i-1)*6+5]), tonumber(ARGV[(i-1)*6+6])
  if kind == 'w' then
    local limit = math.floor((tonumber(redis.call('HGET', lk, 'limit')) or a) * s)
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now - b - m)
    local c = redis.call('ZCARD', k)
    if c >= limit then
      local oldest = redis.call('ZRANGE', k, c - limit, c - limit, 'WITHSCORES')
      wait = math.max(wait, (tonumber(oldest[2]) or now) + b + m - now)
      table.insert(full, i)
    end
  else
    local h = redis.call('HMGET', k, 'tat', 'busy', 'until')
    local tat = tonumber(h[1]) or now
    local T = 1000 / a
    local w = 0
    if h[2] and h[2] ~= '' then
      local untilAt = tonumber(h[3]) or 0
      if now < untilAt then w = math.min(25, untilAt - now) else tat = math.max(tat, untilAt + T) end
    end
    if w == 0 then w = math.max(0, tat - (b - 1) * T - now) end
    tats[i] = tat
    if w > 0 then
      wait = math.max(wait, w)
      table.insert(full, i)
    end
  end
end
if wait > 0 then return {0, math.ceil(wait), unpack(full)} end
local id = ARGV[n*6+1]
for i = 1, n do
  local k = KEYS[2*i-1]
  local kind, a, b, m, f = ARGV[(i-1)*6+1], tonumber(ARGV[(i-1)*6+2]), tonumber(ARGV[(i-1)*6+3]), tonumber(ARGV[(i-1)*6+4]), tonumber(ARGV[(i-1)*6+5])
  if kind == 'w' then
    redis.call('ZADD', k, now + f, id)
    if redis.call('PTTL', k) < f + b + m + 1000 then redis.call('PEXPIRE', k, f + b + m + 1000) end
  else
    local tat = math.max(now, tats[i]) + 1000 / a
    redis.call('HSET', k, 'tat', tat, 'busy', id, 'until', now + f)
    redis.call('PEXPIRE', k, math.ceil(math.max(tat - now, f)) + 1000)
  end
end
return {1, now}
`;

// KEYS: per bucket, its state key. ARGV: per bucket kind, rate (cells) or span (windows), inflight; then the ticket id.
const SETTLE = `${NOW}
local id = ARGV[#KEYS*3+1]
for i = 1, #KEYS do
  local k = KEYS[i]
  local kind, a, f = ARGV[(i-1)*3+1], tonumber(ARGV[(i-1)*3+2]), tonumber(ARGV[(i-1)*3+3])
  if kind == 'w' then
    redis.call('ZADD', k, 'XX', now, id)
    if redis.call('PTTL', k) < a + 1000 then redis.call('PEXPIRE', k, a + 1000) end
  else
    local h = redis.call('HMGET', k, 'tat', 'busy')
    if h[2] == id then
      local tat = math.max(tonumber(h[1]) or now, now + 1000 / a)
      redis.call('HSET', k, 'tat', tat, 'busy', '', 'until', 0)
      redis.call('PEXPIRE', k, math.ceil(tat - now) + 1000)
    end
  end
end
return 1
`;

// KEYS: window, limit. ARGV: span, configured limit, server limit, server used, sentAt (-1: unknown), phantom prefix.
const OBSERVE = `${NOW}
local span, configured, server, used, sentAt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[2], 'limit', 'at')
local previous = tonumber(h[1]) or configured
local change = 0
if server < previous then change = -1
elseif server > previous and sentAt >= 0 and sentAt >= (tonumber(h[2]) or 0) then change = 1 end
local limit = previous
if change ~= 0 then
  limit = server
  redis.call('HSET', KEYS[2], 'limit', server, 'at', now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local c = redis.call('ZCARD', KEYS[1])
local want = math.min(used, limit)
for i = c + 1, want do redis.call('ZADD', KEYS[1], now, ARGV[6] .. ':' .. i) end
if want > c and redis.call('PTTL', KEYS[1]) < span + 1000 then redis.call('PEXPIRE', KEYS[1], span + 1000) end
return {previous, limit, change}
`;

const USAGE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], 'limit')) or tonumber(ARGV[2])}
`;

// KEYS: the instance set. ARGV: this instance's id, how long an instance counts without news.
const INSTANCES = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`;

const CLIENT_OPTIONS = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true } as const;

function connect(redis: Redis): RedisWithScripts {
  redis.defineCommand('governorAcquire', { lua: ACQUIRE });
  redis.defineCommand('governorSettle', { lua: SETTLE });
  redis.defineCommand('governorObserve', { numberOfKeys: 2, lua: OBSERVE });
  redis.defineCommand('governorUsage', { numberOfKeys: 2, lua: USAGE });
  redis.defineCommand('governorInstances', { numberOfKeys: 1, lua: INSTANCES });
  // Connection errors surface on the calls that fail; ioredis reconnects by itself.
  redis.on('error', () => undefined);
  return redis as RedisWithScripts;
}

type RedisWithScripts = Redis & {
  governorAcquire(...args: Array<string | number>): Promise<number[]>;
  governorSettle(...args: Array<string | number>): Promise<number>;
  governorObserve(...args: Array<string | number>): Promise<number[]>;
  governorUsage(...args: Array<string | number>): Promise<number[]>;
  governorInstances(...args: Array<string | number>): Promise<number>;
};

/**
 * One budget shared by every instance of the app, in Redis (REDIS_URL). The Redis client is
 * loaded on first construction: an app without REDIS_URL never loads it (~6 MB of RSS).
 */
export class RedisRateStore implements RateStore {
  private readonly client: Promise<RedisWithScripts>;

  constructor(
    url: string,
    private readonly prefix = 'clickdesk:rate:',
  ) {
    this.client = import('ioredis').then(({ default: Client }) => connect(new Client(url, CLIENT_OPTIONS)));
    this.client.catch(() => undefined); // a failed load surfaces on the calls that await it
  }

  async tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire> {
    const keys = buckets.flatMap((b) => [this.prefix + b.key, this.limitKey(b)]);
    const args: Array<string | number> = [keys.length, ...keys];
    for (const b of buckets) {
      if (b.kind === 'window') args.push('w', b.limit, b.windowMs, b.marginMs, b.inFlightMs, b.share ?? 1);
      else args.push('t', b.ratePerSec, b.burst, 0, b.inFlightMs, 1);
    }
    const id = randomUUID();
    args.push(id);
    const [ok, value, ...full] = await (await this.client).governorAcquire(...args);
    if (ok === 1) return { ok: true, ticket: { id, at: Number(value) } };
    return {
      ok: false,
      waitMs: Math.max(1, Number(value)),
      full: full.map((i) => buckets[i - 1]?.key ?? ''),
    };
  }

  async settle(buckets: readonly BucketSpec[], ticket: Ticket): Promise<void> {
    const args: Array<string | number> = [buckets.length, ...buckets.map((b) => this.prefix + b.key)];
    for (const b of buckets) {
      if (b.kind === 'window') args.push('w', b.windowMs + b.marginMs, b.inFlightMs);
      else args.push('t', b.ratePerSec, b.inFlightMs);
    }
    args.push(ticket.id);
    await (await this.client).governorSettle(...args);
  }

  async observe(bucket: WindowBucket, server: ServerView, sentAt: number | undefined): Promise<LimitChange> {
    const [previous, limit, change] = await (
      await this.client
    ).governorObserve(
      this.prefix + bucket.key,
      this.limitKey(bucket),
      bucket.windowMs + bucket.marginMs,
      bucket.limit,
      server.limit,
      server.used,
      sentAt ?? -1,
      `phantom:${randomUUID()}`,
    );
    return {
      previous: Number(previous),
      limit: Number(limit),
      change: change === 1 ? 'raised' : change === -1 ? 'lowered' : undefined,
    };
  }

  async usage(bucket: WindowBucket): Promise<{ used: number; limit: number }> {
    const [used, limit] = await (
      await this.client
    ).governorUsage(
      this.prefix + bucket.key,
      this.limitKey(bucket),
      bucket.windowMs + bucket.marginMs,
      bucket.limit,
    );
    return { used: Number(used), limit: Number(limit) };
  }

  /**
   * Notes that `instanceId` plans with this store now and returns how many instances did within
   * `ttlMs` (what the fallback divides each limit by while Redis is unreachable).
   */
  async instances(instanceId: string, ttlMs = 15_000): Promise<number> {
    return Number(await (await this.client).governorInstances(`${this.prefix}instances`, instanceId, ttlMs));
  }

  async close(): Promise<void> {
    const client = await this.client;
    // Unreachable: QUIT would wait for a reconnect that may never come, keeping the process alive.
    if (client.status !== 'ready') client.disconnect();
    else await client.quit();
  }

  private limitKey(b: BucketSpec): string {
    return `${this.prefix}limit:${b.key}`;
  }
}
