import type Redis from 'ioredis';
import type { LinkSeatStore, SeatSync, SeatSyncRequest } from './link-seats';

// One script per operation, on Redis's clock, so every instance agrees on when a lease ran out.
// KEYS[1]: hash seat -> "owner|expiresAt|state|previous|waitUntil" (state h held, o offered,
// t taking); KEYS[2]: hash instance -> "want|held|expiresAt". Same rules as MemoryLinkSeats.
const COMMON = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function parse(v)
  if not v then return nil end
  local o, e, st, p, u = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return { owner = o, exp = tonumber(e), state = st, prev = p, untilAt = tonumber(u) }
end
local function put(i, r)
  redis.call('HSET', KEYS[1], i, r.owner .. '|' .. r.exp .. '|' .. r.state .. '|' .. r.prev .. '|' .. r.untilAt)
end
`;

// ARGV: instance, cap, want, offering (0/1), ttl, handoverMs, believed seats (comma-separated).
const SYNC = `${COMMON}
local me, cap, want, offering, ttl, handover = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6])
local believed = {}
for s in string.gmatch(ARGV[7], '[^,]+') do believed[tonumber(s)] = true end
local recs = {}
local mine = 0
local all = redis.call('HGETALL', KEYS[1])
for j = 1, #all, 2 do
  local i, r = tonumber(all[j]), parse(all[j + 1])
  if r == nil or r.exp < now or (i >= cap and r.owner == me) then
    redis.call('HDEL', KEYS[1], all[j])
  elseif i < cap then
    if r.owner == me then
      r.exp = now + ttl
      if offering and r.state == 't' and now < r.untilAt then
        redis.call('HDEL', KEYS[1], all[j])
        r = nil
      else
        if offering then r.state = 'o' end
        put(i, r)
        mine = mine + 1
      end
    end
    recs[i] = r
  end
end
if not offering then
  for i = cap - 1, 0, -1 do
    if mine > want and recs[i] and recs[i].owner == me then
      redis.call('HDEL', KEYS[1], i)
      recs[i] = nil
      mine = mine - 1
    end
  end
  for pass = 1, 3 do
    for i = 0, cap - 1 do
      if mine < want then
        local r = recs[i]
        if r == nil and (pass == 2 or (pass == 1 and believed[i])) then
          r = { owner = me, exp = now + ttl, state = 'h', prev = '', untilAt = 0 }
          put(i, r)
          recs[i] = r
          mine = mine + 1
        elseif pass == 3 and r and r.state == 'o' and r.owner ~= me then
          r = { owner = me, exp = now + ttl, state = 't', prev = r.owner, untilAt = now + handover }
          put(i, r)
          recs[i] = r
          mine = mine + 1
        end
      end
    end
  end
end
local w = want
if offering then w = 0 end
redis.call('HSET', KEYS[2], me, w .. '|' .. mine .. '|' .. (now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl * 4)
redis.call('PEXPIRE', KEYS[2], ttl * 4)
local wanting = 0
local wants = redis.call('HGETALL', KEYS[2])
for j = 1, #wants, 2 do
  local a, b, e = string.match(wants[j + 1], '^([^|]*)|([^|]*)|([^|]*)$')
  if tonumber(e) < now then redis.call('HDEL', KEYS[2], wants[j])
  elseif wants[j] ~= me and tonumber(a) > tonumber(b) then wanting = wanting + 1 end
end
local held = 0
local out = {}
for i = 0, cap - 1 do
  local r = recs[i]
  if r then
    held = held + 1
    if r.owner == me then
      table.insert(out, i)
      if r.state ~= 't' or now >= r.untilAt then table.insert(out, 1) else table.insert(out, 0) end
    end
  end
end
return { held, wanting, unpack(out) }
`;

// ARGV: instance, seat.
const RELEASED = `${COMMON}
local r = parse(redis.call('HGET', KEYS[1], ARGV[2]))
if r == nil then return 0 end
if r.owner == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[2])
elseif r.state == 't' and r.prev == ARGV[1] then
  r.state = 'h'
  r.untilAt = 0
  put(ARGV[2], r)
end
return 1
`;

// ARGV: instance.
const LEAVE = `${COMMON}
local all = redis.call('HGETALL', KEYS[1])
for j = 1, #all, 2 do
  local r = parse(all[j + 1])
  if r and r.owner == ARGV[1] then redis.call('HDEL', KEYS[1], all[j])
  elseif r and r.state == 't' and r.prev == ARGV[1] then
    r.state = 'h'
    r.untilAt = 0
    put(all[j], r)
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

type SeatClient = Redis & {
  seatsSync(...args: Array<string | number>): Promise<number[]>;
  seatsReleased(...args: Array<string | number>): Promise<number>;
  seatsLeave(...args: Array<string | number>): Promise<number>;
};

/**
 * The fleet's seat register in Redis (REDIS_URL, beside the shared rate budget). Every operation
 * is one script, so two instances never take the same seat. The client is loaded on first
 * construction, like the rate store's.
 */
export class RedisLinkSeats implements LinkSeatStore {
  private readonly client: Promise<SeatClient>;
  private readonly keys: [string, string];

  constructor(url: string, prefix = 'clickdesk:links:') {
    this.keys = [`${prefix}seats`, `${prefix}wants`];
    this.client = import('ioredis').then(({ default: Client }) => {
      const redis = new Client(url, {
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: true,
      });
      redis.defineCommand('seatsSync', { numberOfKeys: 2, lua: SYNC });
      redis.defineCommand('seatsReleased', { numberOfKeys: 2, lua: RELEASED });
      redis.defineCommand('seatsLeave', { numberOfKeys: 2, lua: LEAVE });
      // Connection errors surface on the calls that fail; ioredis reconnects by itself.
      redis.on('error', () => undefined);
      return redis as SeatClient;
    });
    this.client.catch(() => undefined);
  }

  async sync(req: SeatSyncRequest): Promise<SeatSync> {
    const [held, wanting, ...pairs] = await (
      await this.client
    ).seatsSync(
      ...this.keys,
      req.instanceId,
      req.cap,
      req.want,
      req.offering ? 1 : 0,
      req.ttlMs,
      req.handoverMs,
      req.believed.join(','),
    );
    const mine: SeatSync['mine'] = [];
    for (let j = 0; j + 1 < pairs.length; j += 2)
      mine.push({ seat: Number(pairs[j]), ready: Number(pairs[j + 1]) === 1 });
    return { held: Number(held), wanting: Number(wanting), mine };
  }

  async released(instanceId: string, seat: number): Promise<void> {
    await (await this.client).seatsReleased(...this.keys, instanceId, seat);
  }

  async leave(instanceId: string): Promise<void> {
    await (await this.client).seatsLeave(...this.keys, instanceId);
  }

  async close(): Promise<void> {
    const client = await this.client;
    if (client.status !== 'ready') client.disconnect();
    else await client.quit();
  }
}
