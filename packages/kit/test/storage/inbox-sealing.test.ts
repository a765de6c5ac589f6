import type { InboundEvent } from '../../src/core/chat-event';
import type { Storage } from '../../src/storage/open-storage';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
const message = (
  id: string,
  sender: { kind: 'visitor' | 'agent' | 'bot' | 'system'; id: string },
): InboundEvent => ({
  eventId: id,
  teamId: TEAM,
  eventTime: 1_764_370_000,
  event: { type: 'message', conversationId: 'C1', sender, text: `text of ${id}`, ts: '1.0' },
});

/** Terms 6.3: an event waiting in the inbox is sealed under the key of the person it is about. */
describe.each(STORAGE_KINDS)('inbox sealing on %s', (kind) => {
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

  /**
   * The data key id each event's sealed copy names (format byte, then 16 bytes of key id): its
   * inbox payload, or, for a message stored once, its message's body.
   */
  const keyIdsOf = async (): Promise<Record<string, string>> => {
    const rows = await storage.sql!.db.all<{ event_id: string; payload: Uint8Array }>(
      'SELECT i.event_id, COALESCE(i.payload, m.body) AS payload FROM inbox i LEFT JOIN messages m ON m.event_id = i.event_id',
    );
    return Object.fromEntries(
      rows.map((r) => [r.event_id, Buffer.from(r.payload).subarray(1, 17).toString('hex')]),
    );
  };
  const liveKeyId = async (subjectRef: string): Promise<string> => {
    const [row] = await storage.sql!.db.all<{ key_id: string }>(
      'SELECT key_id FROM data_keys WHERE team_id = ? AND subject_ref = ? AND destroyed_at IS NULL',
      [TEAM, subjectRef],
    );
    if (!row) throw new Error(`no live key for ${subjectRef || 'the team'}`);
    return row.key_id;
  };

  it("seals an agent's, the bot's and a system event of a stored conversation under its visitor's key", async () => {
    await storage.conversations.put({
      teamId: TEAM,
      conversationId: 'C1',
      visitorId: 'V1',
      status: 'bot',
      startedAt: 1_764_370_000,
    });
    for (const [id, sender] of [
      ['EvVisitor', { kind: 'visitor', id: 'V1' }],
      ['EvAgent', { kind: 'agent', id: 'U1' }],
      ['EvBot', { kind: 'bot', id: 'B1' }],
      ['EvSystem', { kind: 'system', id: 'S' }],
    ] as const)
      expect(await storage.inbox.record(message(id, sender))).toBe('recorded');

    const visitorKey = await liveKeyId(storage.sql!.ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V1' }));
    const sealedUnder = await keyIdsOf();
    expect(sealedUnder).toEqual({
      EvVisitor: visitorKey,
      EvAgent: visitorKey,
      EvBot: visitorKey,
      EvSystem: visitorKey,
    });
  });

  it('seals an event of a conversation not stored yet under its author, or the team for the bot', async () => {
    await storage.inbox.record(message('EvAgent', { kind: 'agent', id: 'U1' }));
    await storage.inbox.record(message('EvBot', { kind: 'bot', id: 'B1' }));
    const sealedUnder = await keyIdsOf();
    expect(sealedUnder.EvAgent).toBe(
      await liveKeyId(storage.sql!.ctx.subjectRef(TEAM, { kind: 'agent', id: 'U1' })),
    );
    expect(sealedUnder.EvBot).toBe(await liveKeyId(''));
  });
});
