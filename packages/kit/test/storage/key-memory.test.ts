import { KeyCache } from '../../src/storage/crypto/key-cache';
import type { KeyRing } from '../../src/storage/crypto/key-ring';
import { loadSodium } from '../../src/storage/crypto/sodium';
import type { Storage } from '../../src/storage/open-storage';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';
import { waitFor } from '../helpers/wait-for';

const zeroed = (b: Uint8Array) => b.every((x) => x === 0);
const key = (id: string, teamId = 'T1') => ({
  id,
  key: new Uint8Array(32).fill(7),
  teamId,
  owner: `subject|${id}`,
});
const indexKeyOf = (keys: KeyRing) => (keys as unknown as { indexKey: Buffer }).indexKey;

describe('the key cache', () => {
  let now = 0;
  let cache: KeyCache;
  beforeEach(async () => {
    now = 1_000;
    cache = new KeyCache(await loadSodium(), 60_000, 3, () => now);
  });
  afterEach(() => cache.close());

  it('evicts keys after their time, zeroing them, even when nobody asks for them', () => {
    const a = key('a');
    cache.set(a);
    now += 59_000;
    cache.sweep();
    expect(cache.byKeyId('a')).toBe(a);
    now += 1_000;
    cache.sweep();
    expect(cache.size).toBe(0);
    expect(zeroed(a.key)).toBe(true);
  });

  it('holds a bounded number of keys, zeroing the oldest it drops', () => {
    const keys = ['a', 'b', 'c', 'd'].map((id) => key(id));
    for (const k of keys) cache.set(k);
    expect(cache.size).toBe(3);
    expect(zeroed(keys[0]!.key)).toBe(true);
    expect(keys.slice(1).some((k) => zeroed(k.key))).toBe(false);
  });

  it('zeroes a key buffer it replaces, every key of a team it drops, and everything at close', () => {
    const first = key('a');
    const again = key('a');
    cache.set(first);
    cache.set(again);
    expect(zeroed(first.key)).toBe(true);
    const other = key('x', 'T2');
    cache.set(other);
    cache.dropTeam('T1');
    expect(zeroed(again.key)).toBe(true);
    expect(cache.byKeyId('x')).toBe(other);
    cache.close();
    expect(zeroed(other.key)).toBe(true);
  });
});

describe.each(STORAGE_KINDS)('keys in memory on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;
  beforeEach(async () => {
    fx = await storageFixture(kind);
    storage = await fx.open();
  });
  afterEach(async () => {
    await storage.close().catch(() => undefined);
    await fx.cleanup();
  });

  it('keeps no raw identifier of a team in the blind-index cache after an erasure in it', async () => {
    const { keys, ctx } = storage.sql!;
    await storage.profiles.put('T1', { kind: 'visitor', id: 'V-ada' }, { name: 'Ada' });
    await storage.profiles.put('T2', { kind: 'visitor', id: 'V-cy' }, { name: 'Cy' });
    expect(keys.cachedBlindsOf('T1')).toBeGreaterThan(0);
    await keys.destroy('T1', 'subject', ctx.subjectRef('T1', { kind: 'visitor', id: 'V-ada' }));
    expect(keys.cachedBlindsOf('T1')).toBe(0);
    expect(keys.cachedBlindsOf('T2')).toBe(1);
  });

  it('zeroes the index key and every cached key on termination and on close', async () => {
    const { keys } = storage.sql!;
    await storage.profiles.put('T1', { kind: 'visitor', id: 'V-ada' }, { name: 'Ada' });
    const index = indexKeyOf(keys);
    const [row] = await storage.sql!.db.all<{ key_id: string }>(
      "SELECT key_id FROM data_keys WHERE scope = 'subject'",
    );
    const live = await keys.keyById(row!.key_id);
    await keys.destroyAll();
    expect(zeroed(index)).toBe(true);
    expect(zeroed(live.key)).toBe(true);
    expect(keys.cachedKeys).toBe(0);
    expect(() => keys.blind('visitor', 'T1', 'V-ada')).toThrow(/destroyed/);

    const reopened = await fx.open();
    const reopenedIndex = indexKeyOf(reopened.sql!.keys);
    await reopened.close();
    expect(zeroed(reopenedIndex)).toBe(true);
  });
});

if (STORAGE_KINDS.includes('postgres')) {
  describe('two instances on one PostgreSQL schema', () => {
    let fx: StorageFixture;
    let a: Storage;
    let b: Storage;
    beforeEach(async () => {
      fx = await storageFixture('postgres');
      a = await fx.open();
      b = await fx.open();
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await fx.cleanup();
    });

    it("a key shredded by one instance stops working on the other at once, not after the cache's 60 s", async () => {
      const ada = { kind: 'visitor' as const, id: 'V-ada' };
      await a.conversations.put({
        teamId: 'T1',
        conversationId: 'C1',
        visitorId: ada.id,
        status: 'bot',
        startedAt: 1,
      });
      await a.messages.append({
        teamId: 'T1',
        conversationId: 'C1',
        eventId: 'Ev1',
        subject: ada,
        sender: ada,
        text: 'hi',
        ts: '1',
      });
      expect((await b.messages.listConversation('T1', 'C1')).map((m) => m.text)).toEqual(['hi']);
      const [row] = await b.sql!.db.all<{ key_id: string }>(
        "SELECT key_id FROM data_keys WHERE scope = 'subject'",
      );
      const cachedOnB = await b.sql!.keys.keyById(row!.key_id); // from b's cache
      expect(zeroed(cachedOnB.key)).toBe(false);

      await a.sql!.keys.destroy('T1', 'subject', a.sql!.ctx.subjectRef('T1', ada));

      await waitFor('the other instance to drop the key', () => zeroed(cachedOnB.key), 2_000);
      expect(b.sql!.keys.cachedBlindsOf('T1')).toBe(0);
      await expect(b.sql!.keys.keyById(row!.key_id)).rejects.toMatchObject({ code: 'DATA_KEY_DESTROYED' });
      expect(await b.messages.listConversation('T1', 'C1')).toEqual([]);
    });

    it('caches no key while its listener is down, and again once it is back', async () => {
      await b.profiles.put('T1', { kind: 'visitor', id: 'V1' }, { name: 'Vee' });
      expect(b.sql!.keys.cachedKeys).toBeGreaterThan(0);
      const { adminQuery } = await import('../helpers/storage-fixtures');
      await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [
        `LISTEN cdbs_key_shred_${fx.pgSchema!.toLowerCase()}`,
      ]);
      await waitFor('the listeners to notice', () => b.sql!.keys.cachedKeys === 0, 5_000);
      expect(await b.profiles.get('T1', { kind: 'visitor', id: 'V1' })).toEqual({ name: 'Vee' });
      await waitFor(
        'the listener to come back and cache again',
        () => {
          void b.profiles.get('T1', { kind: 'visitor', id: 'V1' });
          return b.sql!.keys.cachedKeys > 0;
        },
        10_000,
        50,
      );
    });
  });
}
