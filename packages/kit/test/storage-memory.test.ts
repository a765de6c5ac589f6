import { MemoryConversationStore, MemoryMessageStore } from '../src/storage/memory/memory-conversation-store';
import { MemoryEventInbox } from '../src/storage/memory/memory-event-inbox';

const message = (conversationId: string, i: number) => ({
  teamId: 'T',
  conversationId,
  eventId: `E${i}`,
  subject: { kind: 'visitor' as const, id: 'V' },
  sender: { kind: 'visitor' as const, id: 'V' },
  text: `m${i}`,
  ts: String(i),
});

describe('in-memory stores', () => {
  it('keep only the newest messages across conversations', async () => {
    const store = new MemoryMessageStore(5);
    for (let i = 0; i < 12; i++) await store.append(message(i % 2 ? 'odd' : 'even', i));
    const even = await store.listConversation('T', 'even');
    const odd = await store.listConversation('T', 'odd');
    expect([...even, ...odd].map((m) => m.text).sort()).toEqual(['m10', 'm11', 'm7', 'm8', 'm9']);
  });

  it('forget the oldest conversation past the cap', async () => {
    const store = new MemoryConversationStore(2);
    for (const id of ['a', 'b', 'c'])
      await store.put({ teamId: 'T', conversationId: id, visitorId: 'V', status: 'bot', startedAt: 0 });
    expect(await store.get('T', 'a')).toBeUndefined();
    expect(await store.get('T', 'c')).toBeDefined();
  });

  it('keep a conversation still in use past the cap, forgetting the least recently used one', async () => {
    const store = new MemoryConversationStore(2);
    const put = (id: string) =>
      store.put({ teamId: 'T', conversationId: id, visitorId: 'V', status: 'bot', startedAt: 0 });
    await put('a');
    await put('b');
    await store.get('T', 'a'); // 'a' is read by a new event of its chat
    await put('c');
    expect(await store.get('T', 'a')).toBeDefined();
    expect(await store.get('T', 'b')).toBeUndefined();
    // Steady state at the cap: every put forgets one, and the store never grows.
    for (let i = 0; i < 10_000; i++) await put(`x${i}`);
    expect(await store.get('T', 'x9999')).toBeDefined();
    expect(await store.get('T', 'x9997')).toBeUndefined();
  });

  it('inbox reports duplicates while pending and after handling', async () => {
    const inbox = new MemoryEventInbox();
    const event = {
      eventId: 'E1',
      teamId: 'T',
      eventTime: 0,
      event: { type: 'visitor_updated' as const, visitorId: 'V' },
    };
    expect(await inbox.record(event)).toBe('recorded');
    expect(await inbox.record(event)).toBe('duplicate');
    expect(inbox.pending).toBe(1);
    // Being handled by this very process: nothing to replay.
    expect(await inbox.unhandled(10)).toEqual([]);
    await inbox.complete('E1', { effects: [] });
    expect(await inbox.record(event)).toBe('duplicate');
    expect(inbox.pending).toBe(0);
  });
});
