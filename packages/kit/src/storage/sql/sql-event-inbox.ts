import { randomUUID } from 'node:crypto';
import { conversationOf, type ChatEvent, type InboundEvent } from '../../core/chat-event';
import type { MessageStore, Subject } from '../../core/conversation-store';
import type { Completion, EventInbox } from '../../core/event-inbox';
import { describeError } from '../../errors';
import { InsertBatch } from './insert-batch';
import { writeStatement, type SqlRunner } from './sql-database';
import { WriteGather } from './write-gather';
import { DEFAULT_LEASE_MS, type LeaseOptions } from './lease-options';
import { SqlDeadLetters } from './sql-dead-letters';
import { SqlMessageStore, type MessageRow } from './sql-message-store';
import { completeInOneStatement } from './postgres-completion';
import { SqlOutbox, type SealedEffect } from './sql-outbox';
import type { StorageContext } from './storage-context';

/** Whose Data an event carries, when the event says. */
export function subjectOf(event: ChatEvent): Subject | undefined {
  switch (event.type) {
    case 'conversation_started':
      return { kind: 'visitor', id: event.visitor.id };
    case 'message':
      return event.sender.kind === 'visitor' || event.sender.kind === 'agent'
        ? { kind: event.sender.kind, id: event.sender.id }
        : undefined;
    case 'agent_joined':
      return { kind: 'agent', id: event.agent.id };
    default:
      return undefined;
  }
}

type CompleteOutcome = 'completed' | 'lost';

interface PendingCompletion {
  eventId: string;
  sealed: readonly SealedEffect[];
  handover: Completion['handover'];
  echoOf: Completion['echoOf'];
}

/**
 * The durable inbox: an event is recorded (encrypted) in the same group commit, and the same
 * multi-row INSERT, as others arriving meanwhile, and `record` resolves only after that commit, so the gateway's ack
 * follows durability. The primary key on event_id deduplicates across every instance sharing
 * the database. The recording instance leases the event; its heartbeat (`renewLeases`) keeps
 * the lease while the event waits or runs, and `complete` commits the effects and marks the
 * event handled only while the lease is still its own. An instance that stops renewing (it
 * died) loses its events to whichever instance recovers them, seconds later; restarted with
 * the same instance id, it takes them back at once. Handled events keep only their id (for
 * deduplication), never their payload; dead-lettered ones keep it, encrypted, for an operator.
 *
 * Given the message store, a `message` event whose key is known at once (a visitor's, or one in a
 * stored conversation) is stored once: its message row, sealed under that key, is inserted in
 * the event's own commit, and the inbox row holds no payload; the dispatcher does not store it
 * again (`messageStoredWith`), and a replay rebuilds the event from the message.
 */
export class SqlEventInbox implements EventInbox {
  readonly outbox: SqlOutbox;
  readonly deadLetters: SqlDeadLetters;
  readonly instanceId: string;
  private readonly leaseMs: number;
  private reclaimOwn = true;

  private readonly messages: SqlMessageStore | undefined;
  /** Events recorded with their message (the objects the gateway hands on to the dispatcher). */
  private readonly storedWith = new WeakSet<InboundEvent>();

  constructor(
    private readonly ctx: StorageContext,
    options: Partial<LeaseOptions> & { messages?: SqlMessageStore } = {},
  ) {
    this.messages = options.messages;
    this.instanceId = options.instanceId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.outbox = new SqlOutbox(ctx, { instanceId: this.instanceId, leaseMs: this.leaseMs });
    this.deadLetters = new SqlDeadLetters(ctx);
    this.recorder = new InsertBatch(ctx.db, {
      table: 'inbox',
      columns: [
        ['event_id', 'text'],
        ['team_id', 'text'],
        ['subject_ref', 'text'],
        ['conversation_ref', 'text'],
        ['received_at', 'bigint'],
        ['payload', 'bytea'],
        ['lease_owner', 'text'],
        ['lease_until', 'bigint'],
      ],
      key: 'event_id',
      lane: 'ack',
      ...(this.messages && { companion: SqlMessageStore.TABLE }),
    });
    // PostgreSQL: a group's completions are one statement (postgres-completion.ts).
    this.completions = new WriteGather(
      ctx.db,
      'default',
      { statement: ctx.db.dialect === 'postgres' },
      (tx, items) => this.completeAll(tx, items),
    );
  }

  /** Events recorded in one statement per group commit (the ack lane's). */
  private readonly recorder: InsertBatch;
  private readonly completions: WriteGather<PendingCompletion, CompleteOutcome>;

  async record(event: InboundEvent): Promise<'recorded' | 'duplicate'> {
    const subject = subjectOf(event.event);
    const subjectRef = subject ? this.ctx.subjectRef(event.teamId, subject) : '';
    // An erased person's (or team's) late events are acknowledged and dropped, never stored.
    if (await this.ctx.tombstones.isErased(event.teamId, subjectRef)) return 'duplicate';
    // Sealed under the key of the person the event is about (Terms 6.3): in a visitor's
    // conversation that is the visitor, whoever wrote it (agent, bot, system).
    const conversationId = conversationOf(event.event);
    const storedOwner =
      subject?.kind === 'visitor' || conversationId === undefined
        ? undefined
        : await this.ctx.conversationOwnerRef(event.teamId, conversationId);
    const ownerRef = storedOwner ?? subjectRef;
    if (ownerRef !== subjectRef && (await this.ctx.tombstones.isErased(event.teamId, ownerRef)))
      return 'duplicate';
    const key = await this.ctx.keyOf(event.teamId, ownerRef || undefined);
    const now = this.ctx.now();
    // Filed by conversation too, so the visitor's erasure finds every event of the conversation
    // (the bot's echoes and the agent's included) even after the payload is gone (Terms 6.3).
    const conversationRef =
      conversationId === undefined ? null : this.ctx.conversationRef(event.teamId, conversationId);
    const row = (
      payload: Buffer | null,
      filing: { subjectRef: string; conversationRef: string | null },
    ): unknown[] => [
      event.eventId,
      event.teamId,
      filing.subjectRef,
      filing.conversationRef,
      now,
      payload,
      this.instanceId,
      now + this.leaseMs,
    ];
    const m = event.event;
    if (this.messages && m.type === 'message' && (subject?.kind === 'visitor' || storedOwner !== undefined)) {
      // Stored once: as the message, under the key the dispatcher would have chosen; a bot's or
      // the system's message is filed under the conversation's visitor, as the dispatcher files it.
      const message = this.messages.rowOf(
        { ...m, teamId: event.teamId, eventId: event.eventId, subject, eventTime: event.eventTime },
        subject ? subjectRef : ownerRef,
        key,
      );
      // Filed once, by its message: the message row names the subject and the conversation, and an
      // erasure deletes the event with its message (erasure-steps, `alsoFrom`). The inbox row
      // stays unfiled (no subject, no conversation), so its index entries are appended in arrival
      // order rather than each dirtying a page of its own keyed by a random hash (storage growth).
      const unfiled = { subjectRef: '', conversationRef: null };
      const inserted = await this.recorder.insert(event.eventId, row(null, unfiled), message);
      if (inserted) this.storedWith.add(event);
      return inserted ? 'recorded' : 'duplicate';
    }
    const payload = this.ctx.seal(
      { table: 'inbox', teamId: event.teamId, recordId: event.eventId, field: 'payload' },
      event,
      key,
    );
    const inserted = await this.recorder.insert(event.eventId, row(payload, { subjectRef, conversationRef }));
    return inserted ? 'recorded' : 'duplicate';
  }

  messageStoredWith(event: InboundEvent): MessageStore | undefined {
    return this.storedWith.has(event) ? this.messages : undefined;
  }

  async complete(eventId: string, completion: Completion): Promise<'completed' | 'lost'> {
    const sealed: SealedEffect[] = [];
    for (const effect of completion.effects) {
      const row = await this.outbox.seal(effect);
      if (row) sealed.push(row);
    }
    const { handover, echoOf } = completion;
    try {
      return await this.completions.add({ eventId, sealed, handover, echoOf });
    } finally {
      // Committed or rolled back: a state cached before now may be stale (one cached while the
      // transaction was open may even be its uncommitted write), and one read after is the truth.
      if (handover)
        this.ctx.conversationStates?.forget(
          handover.teamId,
          this.ctx.conversationRef(handover.teamId, handover.conversationId),
        );
    }
  }

  /**
   * Completions gathered in one transaction: each event is marked handled only while this
   * instance still leases it, and only then are its effects and handover written, in the same
   * commit. On PostgreSQL all of it is one statement (a round trip) per group.
   */
  private async completeAll(tx: SqlRunner, items: readonly PendingCompletion[]): Promise<CompleteOutcome[]> {
    const now = this.ctx.now();
    if (this.ctx.db.dialect === 'postgres') {
      // An event twice in one group (never expected: it is leased) completes once, as its first.
      const firsts = new Map(items.map((item, i) => [item.eventId, i] as const).reverse());
      const won = await completeInOneStatement(
        tx,
        now,
        this.instanceId,
        [...firsts.values()].map((i) => {
          const { eventId, sealed, handover, echoOf } = items[i]!;
          const { teamId, conversationId } = handover ?? {};
          return {
            eventId,
            sealed,
            echoOf,
            handover: teamId
              ? { teamId, conversationRef: this.ctx.conversationRef(teamId, conversationId!) }
              : undefined,
          };
        }),
      );
      return items.map((item, i) =>
        firsts.get(item.eventId) === i && won.has(item.eventId) ? 'completed' : 'lost',
      );
    }
    const won = new Set<string>();
    const mark =
      'UPDATE inbox SET handled_at = ?, payload = NULL, lease_owner = NULL, lease_until = NULL WHERE handled_at IS NULL AND dead_at IS NULL AND lease_owner = ? AND event_id = ?';
    for (const { eventId } of items)
      if ((await tx.run(mark, [now, this.instanceId, eventId])) === 1) won.add(eventId);
    const outcomes: CompleteOutcome[] = [];
    // The effects of every won event, in order, and their echoes.
    const effects: SealedEffect[] = [];
    const echoes: Array<{ teamId: string; effectId: string }> = [];
    for (const { eventId, sealed, handover, echoOf } of items) {
      // An event twice in one group (never expected: it is leased) completes once.
      if (!won.delete(eventId)) {
        outcomes.push('lost');
        continue;
      }
      effects.push(...sealed);
      if (echoOf) echoes.push(echoOf);
      if (handover) {
        await tx.run(
          "UPDATE conversations SET status = 'handed_over' WHERE team_id = ? AND conversation_ref = ? AND status = 'bot'",
          [handover.teamId, this.ctx.conversationRef(handover.teamId, handover.conversationId)],
        );
      }
      outcomes.push('completed');
    }
    await this.outbox.insertAll(tx, effects);
    await this.outbox.settleByEcho(tx, echoes);
    return outcomes;
  }

  async failed(eventId: string, _error: string): Promise<number> {
    return this.ctx.db.write(async (tx) => {
      await tx.run('UPDATE inbox SET failures = failures + 1 WHERE event_id = ? AND handled_at IS NULL', [
        eventId,
      ]);
      const [row] = await tx.all<{ failures: number }>('SELECT failures FROM inbox WHERE event_id = ?', [
        eventId,
      ]);
      return Number(row?.failures ?? 1);
    });
  }

  async deadLetter(eventId: string, reason: string): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'default',
      'UPDATE inbox SET dead_at = ?, dead_reason = ?, lease_owner = NULL, lease_until = NULL WHERE event_id = ? AND handled_at IS NULL AND lease_owner = ?',
      [this.ctx.now(), reason.slice(0, 200), eventId, this.instanceId],
    );
  }

  /** Claims unhandled events whose lease ran out (or, at start, that this instance held before a restart). */
  async unhandled(limit: number): Promise<InboundEvent[]> {
    const now = this.ctx.now();
    const own = this.reclaimOwn ? ' OR lease_owner = ?' : '';
    const ownParam = this.reclaimOwn ? [this.instanceId] : [];
    const rows = await this.ctx.db.all<{
      event_id: string;
      team_id: string;
      subject_ref: string;
      conversation_ref: string | null;
    }>(
      `SELECT event_id, team_id, subject_ref, conversation_ref FROM inbox WHERE handled_at IS NULL AND dead_at IS NULL AND (lease_until IS NULL OR lease_until < ?${own}) ORDER BY received_at LIMIT ?`,
      [now, ...ownParam, limit],
    );
    // Own rows beyond this batch are still to be taken back (the heartbeat keeps renewing them).
    if (rows.length < limit) this.reclaimOwn = false;
    if (rows.length === 0) return [];
    type Claimed = {
      event_id: string;
      team_id: string;
      subject_ref: string;
      conversation_ref: string | null;
      payload: Buffer | null;
      message: MessageRow | undefined;
    };
    const claimed = await this.ctx.db.write(async (tx) => {
      const mine: Claimed[] = [];
      for (const row of rows) {
        const won = await tx.run(
          'UPDATE inbox SET lease_owner = ?, lease_until = ? WHERE event_id = ? AND handled_at IS NULL AND dead_at IS NULL AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)',
          [this.instanceId, now + this.leaseMs, row.event_id, now, this.instanceId],
        );
        if (won !== 1) continue;
        // A message event stored once has no payload: it is read back from its message.
        const [full] = await tx.all<{
          payload: Buffer | null;
          sender_kind: MessageRow['sender_kind'] | null;
          message_subject_ref: string | null;
          message_conversation_ref: string | null;
          body: Buffer | null;
        }>(
          'SELECT i.payload, m.sender_kind, m.subject_ref AS message_subject_ref, m.conversation_ref AS message_conversation_ref, m.body FROM inbox i LEFT JOIN messages m ON m.event_id = i.event_id WHERE i.event_id = ?',
          [row.event_id],
        );
        const message: MessageRow | undefined =
          full?.body && full.sender_kind
            ? {
                event_id: row.event_id,
                team_id: row.team_id,
                sender_kind: full.sender_kind,
                body: full.body,
                subject_ref: full.message_subject_ref ?? '',
                conversation_ref: full.message_conversation_ref ?? '',
              }
            : undefined;
        mine.push({ ...row, payload: full?.payload ?? null, message });
      }
      return mine;
    });
    const events: InboundEvent[] = [];
    // Each event is decrypted alone: one that cannot be is dead-lettered, the others go on.
    for (const row of claimed) {
      let event: InboundEvent | undefined;
      let fromMessage = false;
      try {
        if (row.payload) {
          event = await this.ctx.open<InboundEvent>(
            { table: 'inbox', teamId: row.team_id, recordId: row.event_id, field: 'payload' },
            row.payload,
            { subjectRef: row.subject_ref, conversationRef: row.conversation_ref },
          );
        } else if (row.message && this.messages) {
          event = await this.messages.eventOf(row.message);
          fromMessage = true;
        }
      } catch (err) {
        await this.deadLetter(row.event_id, `undecryptable:${describeError(err).code}`);
        continue;
      }
      if (event) {
        if (fromMessage) this.storedWith.add(event);
        events.push(event);
      } else await this.complete(row.event_id, { effects: [] }); // its subject was erased meanwhile: nothing left to handle
    }
    return events;
  }

  reclaimOwnLeases(): void {
    this.reclaimOwn = true;
  }

  async releaseLeases(): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'default',
      'UPDATE inbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND handled_at IS NULL AND dead_at IS NULL',
      [this.instanceId],
    );
  }

  async renewLeases(): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'default',
      'UPDATE inbox SET lease_until = ? WHERE lease_owner = ? AND handled_at IS NULL AND dead_at IS NULL',
      [this.ctx.now() + this.leaseMs, this.instanceId],
    );
  }
}
