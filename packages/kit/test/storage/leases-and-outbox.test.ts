import path from 'node:path';
import type { InboundEvent } from '../../src/core/chat-event';
import { ErasureWorker } from '../../src/lifecycle/erasure-worker';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { ReceiptSigner } from '../../src/lifecycle/receipt-signer';
import { silentLogger } from '../../src/logging/create-logger';
import { loadSodium } from '../../src/storage/crypto/sodium';
import type { Storage } from '../../src/storage/open-storage';
import { SqlEventInbox } from '../../src/storage/sql/sql-event-inbox';
import { StorageContext } from '../../src/storage/sql/storage-context';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
let seq = 0;
const event = (visitor = 'V1'): InboundEvent => ({
  eventId: `Ev${++seq}x${Date.now()}`,
  teamId: TEAM,
  eventTime: 1_764_370_000,
  event: {
    type: 'message',
    conversationId: `C-${visitor}`,
    sender: { kind: 'visitor', id: visitor },
    text: 'hi',
    ts: '1.0',
  },
});
const reply = (e: InboundEvent, visitor = 'V1') => ({
  effectId: `${e.eventId}-0`,
  eventId: e.eventId,
  teamId: TEAM,
  conversationId: `C-${visitor}`,
  subject: { kind: 'visitor' as const, id: visitor },
  effect: { kind: 'post' as const, text: `answer to ${e.eventId}` },
});

/** Leases that fit the work, ownership on completion, per-row decryption, erasure of outbox rows. */
describe.each(STORAGE_KINDS)('the SQL inbox and outbox on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;
  let now = 1_000_000;
  let ctx: StorageContext;
  const inbox = (instanceId: string) => new SqlEventInbox(ctx, { instanceId, leaseMs: 15_000 });

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

  it('keeps a lease while its holder heartbeats, however long the work; takes it over seconds after the heartbeats stop', async () => {
    const a = inbox('a');
    const b = inbox('b');
    expect(await b.unhandled(10)).toEqual([]);
    const e = event();
    await a.record(e);
    for (let i = 0; i < 40; i++) {
      now += 10_000; // 400 s of queued work: far past one lease
      await a.renewLeases();
      expect(await b.unhandled(10)).toEqual([]);
    }
    now += 16_000; // a stopped renewing: it died
    expect(await b.unhandled(10)).toEqual([e]);
    expect(await a.complete(e.eventId, { effects: [reply(e)] })).toBe('lost');
    expect(await b.complete(e.eventId, { effects: [reply(e)] })).toBe('completed');
    const rows = await b.outbox.claim(10);
    expect(rows.map((r) => r.effectId)).toEqual([`${e.eventId}-0`]);
    expect(rows[0]!.effect).toEqual({ kind: 'post', text: `answer to ${e.eventId}` });
  });

  it('hands a gracefully stopped instance’s events and effects to the others at once', async () => {
    const a = inbox('a');
    const e1 = event();
    const e2 = event();
    await a.record(e1);
    await a.record(e2);
    await a.complete(e1.eventId, { effects: [reply(e1)] });
    expect(await a.outbox.claim(10)).toHaveLength(1);
    const b = inbox('b');
    expect(await b.unhandled(10)).toEqual([]);
    expect(await b.outbox.claim(10)).toEqual([]);
    await a.releaseLeases();
    await a.outbox.releaseLeases();
    expect(await b.unhandled(10)).toEqual([e2]);
    expect((await b.outbox.claim(10)).map((r) => r.effectId)).toEqual([`${e1.eventId}-0`]);
  });

  it('lets a restarted instance take its own events and effects back at once', async () => {
    const first = inbox('same');
    const e1 = event();
    const e2 = event();
    await first.record(e1);
    await first.record(e2);
    expect(await first.complete(e1.eventId, { effects: [reply(e1)] })).toBe('completed');
    expect(await first.outbox.claim(10)).toHaveLength(1);
    // SIGKILL; the same instance starts again, long before the leases would run out.
    const again = inbox('same');
    expect(await inbox('other').unhandled(10)).toEqual([]);
    expect(await again.unhandled(10)).toEqual([e2]);
    expect((await again.outbox.claim(10)).map((r) => r.effectId)).toEqual([`${e1.eventId}-0`]);
  });

  it('commits effects only with the event: a lost lease writes nothing, a replay adds no second row', async () => {
    const a = inbox('a');
    const e = event();
    await a.record(e);
    expect(await a.complete(e.eventId, { effects: [reply(e)] })).toBe('completed');
    expect(await a.complete(e.eventId, { effects: [reply(e)] })).toBe('lost');
    const [count] = await ctx.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM outbox');
    expect(Number(count?.n)).toBe(1);
  });

  it('delivers one conversation’s effects in commit order, one at a time', async () => {
    const a = inbox('a');
    const events = [event(), event(), event()];
    for (const e of events) {
      await a.record(e);
      await a.complete(e.eventId, { effects: [reply(e)] });
    }
    const first = await a.outbox.claim(10);
    expect(first.map((r) => r.eventId)).toEqual([events[0]!.eventId]);
    expect(await a.outbox.claim(10)).toEqual([]);
    await a.outbox.markDone(first[0]!.effectId, 'sent');
    expect((await a.outbox.claim(10)).map((r) => r.eventId)).toEqual([events[1]!.eventId]);
  });

  it('dead-letters an undecryptable event alone and replays the others', async () => {
    const a = inbox('a');
    const events = Array.from({ length: 10 }, () => event());
    for (const e of events) await a.record(e);
    const broken = events[4]!;
    const [row] = await ctx.db.all<{ payload: Buffer }>('SELECT payload FROM inbox WHERE event_id = ?', [
      broken.eventId,
    ]);
    const tampered = Buffer.from(row!.payload);
    const last = tampered.length - 1;
    tampered.writeUInt8(tampered.readUInt8(last) ^ 0xff, last);
    await ctx.db.run('UPDATE inbox SET payload = ? WHERE event_id = ?', [tampered, broken.eventId]);
    now += 16_000;
    const replayed = await inbox('b').unhandled(100);
    expect(replayed.map((e) => e.eventId)).toEqual(events.filter((e) => e !== broken).map((e) => e.eventId));
    const dead = await a.deadLetters.list(10);
    expect(dead).toEqual([
      { kind: 'event', id: broken.eventId, teamId: TEAM, reason: 'undecryptable:DECRYPT_FAILED', at: now },
    ]);
  });

  it('erases a subject’s pending effects and dead letters with the subject', async () => {
    const a = storage.inbox;
    const gone = event('V-gone');
    const kept = event('V-kept');
    for (const e of [gone, kept]) await a.record(e);
    await a.complete(gone.eventId, { effects: [reply(gone, 'V-gone')] });
    await a.complete(kept.eventId, { effects: [reply(kept, 'V-kept')] });
    // The gone visitor's effect is a dead letter; the kept visitor's is still pending.
    await a.outbox.claim(10);
    await a.outbox.deadLetter(`${gone.eventId}-0`, 'conversation_not_found');
    expect((await a.deadLetters.list(10)).map((d) => d.id)).toEqual([`${gone.eventId}-0`]);
    const sql = storage.sql!;
    const jobs = new LifecycleJobs(sql.db);
    await jobs.record('msg_erase_outbox', 'data_deletion.requested', {
      kind: 'subject',
      teamId: TEAM,
      subjectKind: 'visitor',
      subjectRef: sql.ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V-gone' }),
    });
    const worker = new ErasureWorker({
      ...sql,
      jobs,
      signer: ReceiptSigner.fromFile(await loadSodium(), path.join(fx.dataDir, 'receipt-signing.key')),
      logger: silentLogger(),
    });
    await worker.drain();
    const left = await sql.db.all<{ effect_id: string }>('SELECT effect_id FROM outbox');
    expect(left.map((r) => r.effect_id)).toEqual([`${kept.eventId}-0`]);
    expect(await a.deadLetters.list(10)).toEqual([]);
  });
});
