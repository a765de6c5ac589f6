import type { InboundEvent } from '../../src/core/chat-event';
import type { Storage } from '../../src/storage/open-storage';
import type { SqlEventInbox } from '../../src/storage/sql/sql-event-inbox';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const visitorMessage = (eventId: string, visitor: string): InboundEvent => ({
  eventId,
  teamId: 'T1',
  eventTime: 1_764_370_000,
  event: {
    type: 'message',
    conversationId: `C-${visitor}`,
    sender: { kind: 'visitor', id: visitor },
    text: 'hello',
    ts: '1.0',
  },
});

/**
 * Events arriving together are recorded by a few multi-row statements in one group commit (on
 * PostgreSQL, several groups at once), and completions gathered in one transaction:
 * deduplication and lease ownership must still answer each caller alone.
 */
describe.each(STORAGE_KINDS)('grouped inbox writes on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;

  beforeEach(async () => {
    fx = await storageFixture(kind);
    storage = await fx.open();
  });
  afterEach(async () => {
    await storage.close();
    await fx.cleanup();
  });

  it('records each event id once, however many copies arrive in the same group or in groups committing together', async () => {
    const ids = Array.from({ length: 700 }, (_, i) => `Ev${i}`);
    // Every id three times, interleaved, all in flight at once; a hundred were recorded earlier.
    for (const id of ids.slice(0, 100)) await storage.inbox.record(visitorMessage(id, `V${id}`));
    const copies = [...ids, ...ids.slice().reverse(), ...ids];
    const outcomes = await Promise.all(
      copies.map((id) => storage.inbox.record(visitorMessage(id, `V${id}`))),
    );
    const recorded = new Map<string, number>();
    copies.forEach((id, i) => {
      if (outcomes[i] === 'recorded') recorded.set(id, (recorded.get(id) ?? 0) + 1);
    });
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(copies.length - 600);
    expect([...recorded.keys()].sort()).toEqual(ids.slice(100).sort());
    expect([...recorded.values()].every((n) => n === 1)).toBe(true);
    const rows = await storage.sql!.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM inbox');
    expect(Number(rows[0]!.n)).toBe(700);
    // Each recorded event is there to be handled, and decrypts to what was sent.
    const unhandled = await storage.inbox.unhandled(1_000);
    expect(unhandled.map((e) => e.eventId).sort()).toEqual(ids.slice().sort());
    expect(unhandled.find((e) => e.eventId === 'Ev650')?.event).toMatchObject({ text: 'hello' });
  });

  it('completes a burst in one group: effects committed only for events this instance still leases', async () => {
    const inbox = storage.inbox as SqlEventInbox;
    const events = Array.from({ length: 60 }, (_, i) => visitorMessage(`Ec${i}`, `V${i}`));
    await Promise.all(events.map((e) => inbox.record(e)));
    // Another instance took twenty of them over.
    const taken = events.filter((_, i) => i % 3 === 0).map((e) => e.eventId);
    for (const id of taken)
      await storage.sql!.db.run("UPDATE inbox SET lease_owner = 'other' WHERE event_id = ?", [id]);
    const outcomes = await Promise.all(
      events.map((e, i) =>
        inbox.complete(e.eventId, {
          effects: [
            {
              effectId: `${e.eventId}-0`,
              eventId: e.eventId,
              teamId: 'T1',
              conversationId: `C-V${i}`,
              subject: { kind: 'visitor', id: `V${i}` },
              effect: { kind: 'post', text: 'answer' },
            },
          ],
        }),
      ),
    );
    events.forEach((e, i) =>
      expect([e.eventId, outcomes[i]]).toEqual([e.eventId, taken.includes(e.eventId) ? 'lost' : 'completed']),
    );
    const effects = await storage.sql!.db.all<{ event_id: string }>('SELECT event_id FROM outbox');
    expect(effects.map((r) => r.event_id).sort()).toEqual(
      events
        .map((e) => e.eventId)
        .filter((id) => !taken.includes(id))
        .sort(),
    );
    const open = await storage.sql!.db.all<{ event_id: string }>(
      'SELECT event_id FROM inbox WHERE handled_at IS NULL',
    );
    expect(open.map((r) => r.event_id).sort()).toEqual([...taken].sort());
  });
});
