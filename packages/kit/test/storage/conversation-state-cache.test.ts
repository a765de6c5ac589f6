import { ClickDeskApiError } from '../../src/clickdesk/web-api-client';
import type { InboundEvent } from '../../src/core/chat-event';
import { FreshnessRefresher } from '../../src/lifecycle/freshness-refresher';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { silentLogger } from '../../src/logging/create-logger';
import type { ConversationRecord } from '../../src/core/conversation-store';
import type { Storage } from '../../src/storage/open-storage';
import { ConversationStateCache } from '../../src/storage/sql/conversation-state-cache';
import { SqlConversationStore } from '../../src/storage/sql/sql-conversation-store';
import { StorageContext } from '../../src/storage/sql/storage-context';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
const HOUR = 3_600_000;
const record = (status: ConversationRecord['status'] = 'bot'): ConversationRecord => ({
  teamId: TEAM,
  conversationId: 'C1',
  visitorId: 'V1',
  status,
  startedAt: 1_764_370_000,
});
let seq = 0;
const visitorMessage = (): InboundEvent => ({
  eventId: `Ev${++seq}-${Date.now()}`,
  teamId: TEAM,
  eventTime: 1_764_370_000,
  event: {
    type: 'message',
    conversationId: 'C1',
    sender: { kind: 'visitor', id: 'V1' },
    text: 'hi',
    ts: '1.0',
  },
});

/** SQLite: this process is the database's one writer, so conversation state is held in memory. */
describe('conversation state in memory (SQLite)', () => {
  let fx: StorageFixture;
  let storage: Storage;
  let now = Date.now();
  let store: SqlConversationStore;
  let reads: jest.SpyInstance;
  beforeEach(async () => {
    fx = await storageFixture('sqlite');
    storage = await fx.open();
    now = Date.now();
    const { db, keys, ctx } = storage.sql!;
    store = new SqlConversationStore(new StorageContext(db, keys, ctx.cipher, () => now));
    reads = jest.spyOn(db, 'all');
  });
  afterEach(async () => {
    reads.mockRestore();
    await storage.close();
    await fx.cleanup();
  });
  const conversationReads = () =>
    reads.mock.calls.filter(([sql]) => String(sql).includes('FROM conversations WHERE')).length;

  it('answers a message with no database read once the conversation was written or read', async () => {
    await store.put(record());
    expect(await store.get(TEAM, 'C1')).toEqual(record());
    expect(await storage.conversations.get(TEAM, 'C1')).toEqual(record());
    expect(conversationReads()).toBe(0);
  });

  it('serves the status written last, through any store on the same database', async () => {
    await store.put(record());
    await storage.conversations.put(record('agent'));
    expect(await store.get(TEAM, 'C1')).toEqual(record('agent'));
  });

  it('sees a handover committed with an event’s completion at the next read', async () => {
    await store.put(record());
    const event = visitorMessage();
    await storage.inbox.record(event);
    expect((await store.get(TEAM, 'C1'))?.status).toBe('bot');
    await storage.inbox.complete(event.eventId, {
      effects: [],
      handover: { teamId: TEAM, conversationId: 'C1' },
    });
    expect((await store.get(TEAM, 'C1'))?.status).toBe('handed_over');
    expect(conversationReads()).toBe(1);
  });

  it('drops every conversation held when keys are shredded, so an erased visitor’s is never served', async () => {
    await store.put(record());
    const cache = ConversationStateCache.of(storage.sql!.db);
    expect(cache.size).toBe(1);
    const { ctx, keys } = storage.sql!;
    await keys.destroy(TEAM, 'subject', ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V1' }));
    expect(cache.size).toBe(0);
    // The row is still there until the erasure's deletes run; its key is not.
    expect(await store.get(TEAM, 'C1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a conversation the freshness pass deleted because ClickDesk no longer has it', async () => {
    await store.put(record());
    now += 13 * HOUR;
    const refresher = new FreshnessRefresher({
      ctx: new StorageContext(storage.sql!.db, storage.sql!.keys, storage.sql!.ctx.cipher, () => now),
      api: {
        call: (method) =>
          Promise.reject(new ClickDeskApiError('CLICKDESK_API_ERROR', method, 'conversation_not_found')),
      },
      jobs: new LifecycleJobs(storage.sql!.db, () => now),
      logger: silentLogger(),
      retentionMs: 30 * 24 * HOUR,
    });
    expect((await refresher.runOnce()).deletedUpstream).toBe(1);
    expect(await store.get(TEAM, 'C1')).toBeUndefined();
  });

  it('never serves state from memory once its row went 24 hours unconfirmed (Terms 6.1)', async () => {
    await store.put(record());
    now += 24 * HOUR - 1;
    expect(await store.get(TEAM, 'C1')).toEqual(record());
    now += 2;
    expect(await store.get(TEAM, 'C1')).toBeUndefined();
  });

  it('does not cache what a read saw when a change came before the read ended', () => {
    const cache = new ConversationStateCache();
    const ticket = cache.ticket();
    cache.forget(TEAM, 'ref-C1'); // a status written while the read waited
    cache.remember(ticket, 'ref-C1', record('bot'), now + HOUR, now);
    expect(cache.get(TEAM, 'ref-C1', now)).toBeUndefined();
    cache.remember(cache.ticket(), 'ref-C1', record('agent'), now + HOUR, now);
    expect(cache.get(TEAM, 'ref-C1', now)).toEqual(record('agent'));
    cache.clear();
    expect(cache.get(TEAM, 'ref-C1', now)).toBeUndefined();
  });
});

const POSTGRES = STORAGE_KINDS.filter((k) => k === 'postgres');
describe.each(POSTGRES)('conversation state on %s', (kind) => {
  it('is read from the database every time: another instance may change it', async () => {
    const fx = await storageFixture(kind);
    const storage = await fx.open();
    const other = await fx.open();
    try {
      await storage.conversations.put(record());
      expect((await storage.conversations.get(TEAM, 'C1'))?.status).toBe('bot');
      await other.conversations.put(record('agent'));
      expect((await storage.conversations.get(TEAM, 'C1'))?.status).toBe('agent');
      expect(storage.sql!.ctx.conversationStates).toBeUndefined();
    } finally {
      await other.close();
      await storage.close();
      await fx.cleanup();
    }
  });
});
