import type { InboundEvent } from '../../src/core/chat-event';
import { exportSubject } from '../../src/lifecycle/subject-export';
import type { Storage } from '../../src/storage/open-storage';
import { SqlEventInbox } from '../../src/storage/sql/sql-event-inbox';
import { SqlMessageStore } from '../../src/storage/sql/sql-message-store';
import { StorageContext } from '../../src/storage/sql/storage-context';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
const message = (
  id: string,
  sender: { kind: 'visitor' | 'agent' | 'bot' | 'system'; id: string },
  conversationId = 'C1',
): InboundEvent => ({
  eventId: id,
  teamId: TEAM,
  eventTime: 1_764_370_123,
  event: { type: 'message', conversationId, sender, text: `the text of ${id}`, ts: '1764370123.000100' },
});

/**
 * A message event is stored once: its message row, sealed, in the event's own commit, and an
 * inbox row without a payload; a replay rebuilds the event from the message (issue 12).
 */
describe.each(STORAGE_KINDS)('a message stored once on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;
  let now = 1_000_000;
  let ctx: StorageContext;
  /** An instance of its own over the same database, with its own clock. */
  const instance = (instanceId: string) => {
    const messages = new SqlMessageStore(ctx);
    return { messages, inbox: new SqlEventInbox(ctx, { instanceId, leaseMs: 15_000, messages }) };
  };
  const rows = (eventId: string) =>
    storage.sql!.db.all<{ payload: Uint8Array | null; body: Uint8Array | null; handled_at: number | null }>(
      'SELECT i.payload, m.body, i.handled_at FROM inbox i LEFT JOIN messages m ON m.event_id = i.event_id WHERE i.event_id = ?',
      [eventId],
    );

  beforeEach(async () => {
    fx = await storageFixture(kind);
    storage = await fx.open();
    const sql = storage.sql!;
    now = 1_000_000;
    ctx = new StorageContext(sql.db, sql.keys, sql.ctx.cipher, () => now);
  });
  afterEach(async () => {
    await storage.close();
    await fx.cleanup();
  });

  it("records a visitor's message as one sealed message row and an inbox row without payload", async () => {
    const event = message('EvOnce', { kind: 'visitor', id: 'V1' });
    expect(await storage.inbox.record(event)).toBe('recorded');
    const [row] = await rows('EvOnce');
    expect(row!.payload).toBeNull();
    expect(row!.body).not.toBeNull();
    expect(Buffer.from(row!.body!).includes(Buffer.from('the text of EvOnce'))).toBe(false);
    // The dispatcher skips its own append for this object only: the message is there already.
    expect(storage.inbox.messageStoredWith!(event)).toBe(storage.messages);
    expect(storage.inbox.messageStoredWith!({ ...event })).toBeUndefined();
    expect(await storage.messages.listConversation(TEAM, 'C1')).toEqual([
      {
        teamId: TEAM,
        conversationId: 'C1',
        eventId: 'EvOnce',
        subject: undefined,
        sender: { kind: 'visitor', id: 'V1' },
        text: 'the text of EvOnce',
        ts: '1764370123.000100',
      },
    ]);
    // A redelivery is a duplicate and writes no second copy.
    expect(await storage.inbox.record({ ...event })).toBe('duplicate');
    expect(await storage.sql!.db.all('SELECT event_id FROM messages')).toHaveLength(1);
  });

  it('files the event once, by its message: the inbox row names no subject and no conversation', async () => {
    expect(await storage.inbox.record(message('EvFiled', { kind: 'visitor', id: 'V1' }))).toBe('recorded');
    const [inbox] = await storage.sql!.db.all<{ subject_ref: string; conversation_ref: string | null }>(
      'SELECT subject_ref, conversation_ref FROM inbox WHERE event_id = ?',
      ['EvFiled'],
    );
    expect(inbox).toEqual({ subject_ref: '', conversation_ref: null });
    const [stored] = await storage.sql!.db.all<{ subject_ref: string; conversation_ref: string }>(
      'SELECT subject_ref, conversation_ref FROM messages WHERE event_id = ?',
      ['EvFiled'],
    );
    expect(stored).toEqual({
      subject_ref: ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V1' }),
      conversation_ref: ctx.conversationRef(TEAM, 'C1'),
    });
    // An event without a message row keeps its own filing (found by it at erasure).
    const started: InboundEvent = {
      eventId: 'EvStarted',
      teamId: TEAM,
      eventTime: 1_764_370_000,
      event: {
        type: 'conversation_started',
        conversationId: 'C2',
        visitor: { id: 'V2', name: 'Ada' },
        pageUrl: '',
      },
    };
    expect(await storage.inbox.record(started)).toBe('recorded');
    const [own] = await storage.sql!.db.all<{ subject_ref: string; conversation_ref: string | null }>(
      'SELECT subject_ref, conversation_ref FROM inbox WHERE event_id = ?',
      ['EvStarted'],
    );
    expect(own).toEqual({
      subject_ref: ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V2' }),
      conversation_ref: ctx.conversationRef(TEAM, 'C2'),
    });
  });

  it('counts an event stored once as unhandled in a subject export until it is handled', async () => {
    const visitor = { kind: 'visitor' as const, id: 'V1' };
    await storage.inbox.record(message('EvExport', visitor));
    const before = await exportSubject(storage.sql!.ctx, TEAM, visitor);
    expect(before).toMatchObject({ unhandled_events: 1, messages: [{ text: 'the text of EvExport' }] });
    expect(await storage.inbox.complete('EvExport', { effects: [] })).toBe('completed');
    expect(await exportSubject(storage.sql!.ctx, TEAM, visitor)).toMatchObject({ unhandled_events: 0 });
  });

  it("keeps an agent's message of a conversation not stored yet in the inbox, for the dispatcher to store under the visitor later", async () => {
    const event = message('EvAgent', { kind: 'agent', id: 'U1' }, 'C-unknown');
    expect(await storage.inbox.record(event)).toBe('recorded');
    const [row] = await rows('EvAgent');
    expect(row!.payload).not.toBeNull();
    expect(row!.body).toBeNull();
    expect(storage.inbox.messageStoredWith!(event)).toBeUndefined();
  });

  it('stores an agent reply in a stored conversation once, under the visitor', async () => {
    await storage.conversations.put({
      teamId: TEAM,
      conversationId: 'C1',
      visitorId: 'V1',
      status: 'agent',
      startedAt: 1,
    });
    const event = message('EvReply', { kind: 'agent', id: 'U1' });
    await storage.inbox.record(event);
    const [row] = await rows('EvReply');
    expect(row!.payload).toBeNull();
    const [keyRow] = await storage.sql!.db.all<{ key_id: string }>(
      "SELECT key_id FROM data_keys WHERE team_id = ? AND scope = 'subject' AND subject_ref = ?",
      [TEAM, storage.sql!.ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V1' })],
    );
    expect(storage.sql!.ctx.cipher.keyIdOf(row!.body!)).toBe(keyRow!.key_id);
  });

  it('replays an event stored once, rebuilt from its message, on the instance that takes it over', async () => {
    const a = instance('a');
    const b = instance('b');
    const event = message('EvReplay', { kind: 'visitor', id: 'V1' });
    await a.inbox.record(event);
    now += 16_000; // a stopped renewing: it died
    const [replayed] = await b.inbox.unhandled(10);
    expect(replayed).toEqual(event);
    expect(b.inbox.messageStoredWith(replayed!)).toBe(b.messages);
    expect(await b.inbox.complete(event.eventId, { effects: [] })).toBe('completed');
  });

  it('completes an event whose message was erased before it ran, handling nothing', async () => {
    const a = instance('a');
    const b = instance('b');
    await a.inbox.record(message('EvErased', { kind: 'visitor', id: 'V1' }));
    await storage.sql!.db.run("DELETE FROM messages WHERE event_id = 'EvErased'");
    now += 16_000;
    expect(await b.inbox.unhandled(10)).toEqual([]);
    const [row] = await rows('EvErased');
    expect(row!.handled_at).not.toBeNull();
  });

  it('commits the inbox row and its message together or not at all', async () => {
    const db = storage.sql!.db;
    if (kind === 'sqlite') {
      await db.run(
        "CREATE TRIGGER refuse_messages BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'refused'); END",
      );
    } else {
      await db.run(
        "CREATE FUNCTION refuse_messages() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
      );
      await db.run(
        'CREATE TRIGGER refuse_messages BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_messages()',
      );
    }
    const refused = await storage.inbox.record(message('EvAtomic', { kind: 'visitor', id: 'V1' })).then(
      (outcome) => `resolved ${outcome}`,
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/refused/);
    expect(await rows('EvAtomic')).toEqual([]);
    // Recorded in full once the message can be stored: ClickDesk's redelivery finds no half row.
    await db.run(
      kind === 'sqlite' ? 'DROP TRIGGER refuse_messages' : 'DROP TRIGGER refuse_messages ON messages',
    );
    expect(await storage.inbox.record(message('EvAtomic', { kind: 'visitor', id: 'V1' }))).toBe('recorded');
    expect(await rows('EvAtomic')).toHaveLength(1);
  });
});
