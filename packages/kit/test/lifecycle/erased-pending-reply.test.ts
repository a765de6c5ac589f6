import path from 'node:path';
import type { InboundEvent } from '../../src/core/chat-event';
import { ErasureWorker } from '../../src/lifecycle/erasure-worker';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { ReceiptSigner } from '../../src/lifecycle/receipt-signer';
import { silentLogger } from '../../src/logging/create-logger';
import type { Storage } from '../../src/storage/open-storage';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
const AT = 1_764_370_000;

/**
 * Terms 6.3: a visitor's erasure takes what the bot was still to send in their conversations. A
 * reply made before the conversation was stored (its first message arrived before
 * `conversation_started`) is sealed under the team's key and filed under no one, and the visitor
 * message that caused it is filed only by its message row: the erasure finds the reply by its
 * conversation (the outbox lane).
 */
describe.each(STORAGE_KINDS)("a visitor's erasure on %s", (kind) => {
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

  /** A visitor's message answered by the bot, the reply still to be sent. */
  async function answered(visitorId: string, conversationId: string): Promise<void> {
    const eventId = `Ev-${visitorId}`;
    const event: InboundEvent = {
      eventId,
      teamId: TEAM,
      eventTime: AT,
      event: {
        type: 'message',
        conversationId,
        sender: { kind: 'visitor', id: visitorId },
        text: `hello from ${visitorId}`,
        ts: '1764370000.000100',
      },
    };
    expect(await storage.inbox.record(event)).toBe('recorded');
    const completion = {
      effects: [
        {
          effectId: `${eventId}:0`,
          eventId,
          teamId: TEAM,
          conversationId,
          subject: undefined,
          effect: { kind: 'post' as const, text: `an answer for ${visitorId}` },
        },
      ],
    };
    expect(await storage.inbox.complete(eventId, completion)).toBe('completed');
  }

  it('deletes a pending reply of their conversation sealed under the team key before the conversation was stored', async () => {
    const sql = storage.sql!;
    await answered('V-late', 'C-late');
    await answered('V-keep', 'C-keep');
    // conversation_started arrives after the first message: now the conversation names its visitor.
    for (const [visitorId, conversationId] of [
      ['V-late', 'C-late'],
      ['V-keep', 'C-keep'],
    ] as const)
      await storage.conversations.put({
        teamId: TEAM,
        conversationId,
        visitorId,
        status: 'bot',
        startedAt: AT,
      });
    const outbox = async () =>
      (await sql.db.all<{ effect_id: string }>('SELECT effect_id FROM outbox ORDER BY effect_id')).map(
        (r) => r.effect_id,
      );
    expect(await outbox()).toEqual(['Ev-V-keep:0', 'Ev-V-late:0']);

    const jobs = new LifecycleJobs(sql.db);
    await jobs.record('msg_late', 'data_deletion.requested', {
      kind: 'subject',
      teamId: TEAM,
      subjectKind: 'visitor',
      subjectRef: sql.ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V-late' }),
    });
    const signer = ReceiptSigner.fromFile(await loadSodium(), path.join(fx.dataDir, 'receipt-signing.key'));
    await new ErasureWorker({ ...sql, jobs, signer, logger: silentLogger() }).drain();

    expect(await outbox()).toEqual(['Ev-V-keep:0']);
    const events = await sql.db.all<{ event_id: string }>('SELECT event_id FROM inbox ORDER BY event_id');
    expect(events.map((r) => r.event_id)).toEqual(['Ev-V-keep']);
  });
});
