import type { LinkSeatStore, SeatSyncRequest } from '../../src/clickdesk/link-seats';
import { MemoryLinkSeats } from '../../src/clickdesk/memory-link-seats';
import { RedisLinkSeats } from '../../src/clickdesk/redis-link-seats';
import { PrivateRedis } from '../helpers/private-services';
import { findTool } from '../helpers/require-tool';
import { sleep } from '../helpers/wait-for';

const { path: redisServer } = findTool('redis-server', 'apt-get install redis-server');

const req = (instanceId: string, over: Partial<SeatSyncRequest> = {}): SeatSyncRequest => ({
  instanceId,
  cap: 10,
  want: 2,
  offering: false,
  ttlMs: 5_000,
  handoverMs: 5_000,
  believed: [],
  ...over,
});
const seatsOf = (mine: Array<{ seat: number }>): number[] => mine.map((s) => s.seat);

/** The same rules whichever store holds the seats: the Redis script and the in-memory register. */
describe.each([
  [
    'memory',
    (): Promise<{ store: LinkSeatStore; done: () => Promise<void> }> =>
      Promise.resolve({ store: new MemoryLinkSeats(), done: () => Promise.resolve() }),
  ],
  ...(redisServer
    ? [
        [
          'redis',
          async () => {
            const redis = await PrivateRedis.create();
            const store = new RedisLinkSeats(redis.url);
            return {
              store: store as LinkSeatStore,
              done: async () => {
                await store.close();
                await redis.kill();
              },
            };
          },
        ] as const,
      ]
    : []),
] as const)('link seats (%s)', (_kind, make) => {
  let store: LinkSeatStore;
  let done: () => Promise<void>;
  beforeEach(async () => ({ store, done } = await make()));
  afterEach(() => done());

  it('never gives out more seats than the cap: six instances wanting two get ten among them', async () => {
    const got = [];
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) got.push(await store.sync(req(id)));
    expect(got.map((g) => g.mine.length)).toEqual([2, 2, 2, 2, 2, 0]);
    const all = got.flatMap((g) => seatsOf(g.mine));
    expect(new Set(all).size).toBe(10);
    expect(all.every((s) => s >= 0 && s < 10)).toBe(true);
    // Renewing changes nothing; the sixth still holds none and the fleet is full.
    const again = await store.sync(req('f'));
    expect(again).toMatchObject({ mine: [], held: 10 });
    expect((await store.sync(req('a'))).wanting).toBe(1);
  });

  it('frees the seats of an instance that stops renewing once its lease runs out', async () => {
    await store.sync(req('a', { ttlMs: 200, cap: 2 }));
    expect((await store.sync(req('b', { ttlMs: 200, cap: 2 }))).mine).toEqual([]);
    await sleep(300);
    const b = await store.sync(req('b', { ttlMs: 200, cap: 2 }));
    expect(seatsOf(b.mine)).toEqual([0, 1]);
  });

  it('hands a stopping instance seats over: taken at once, opened on only after the old link is closed', async () => {
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.sync(req(id));
    expect((await store.sync(req('f'))).mine).toEqual([]);
    const offered = await store.sync(req('a', { offering: true }));
    expect(offered.mine.map((s) => s.ready)).toEqual([true, true]); // a's links still deliver
    const f = await store.sync(req('f'));
    expect(f.mine).toEqual([
      { seat: 0, ready: false },
      { seat: 1, ready: false },
    ]);
    // Not a's any more: a closes its links, then says so, one seat at a time.
    expect((await store.sync(req('a', { offering: true }))).mine).toEqual([]);
    await store.released('a', 0);
    expect((await store.sync(req('f'))).mine).toEqual([
      { seat: 0, ready: true },
      { seat: 1, ready: false },
    ]);
    await store.leave('a');
    expect((await store.sync(req('f'))).mine.every((s) => s.ready)).toBe(true);
  });

  it('lets a seat taken from a stopping instance be opened on after the handover bound if the old holder never answers', async () => {
    await store.sync(req('a', { cap: 1, want: 1 }));
    await store.sync(req('a', { cap: 1, want: 1, offering: true }));
    expect((await store.sync(req('b', { cap: 1, want: 1, handoverMs: 200 }))).mine).toEqual([
      { seat: 0, ready: false },
    ]);
    await sleep(300);
    expect((await store.sync(req('b', { cap: 1, want: 1 }))).mine).toEqual([{ seat: 0, ready: true }]);
  });

  it('gives a free seat back when its holder wants fewer, and takes back the seats it believes it holds first', async () => {
    await store.sync(req('a', { want: 3 }));
    expect(seatsOf((await store.sync(req('a', { want: 1 }))).mine)).toEqual([0]);
    await store.leave('a');
    // After an outage its lease may have run out: the seats it still has links on come back to it.
    expect(seatsOf((await store.sync(req('a', { want: 2, believed: [4, 7] }))).mine)).toEqual([4, 7]);
  });

  it('frees every seat on leave, and a release of a seat nobody holds changes nothing', async () => {
    await store.sync(req('a'));
    await store.released('z', 0);
    expect((await store.sync(req('b', { want: 10 }))).mine).toHaveLength(8);
    await store.leave('a');
    expect((await store.sync(req('b', { want: 10 }))).mine).toHaveLength(10);
  });
});
