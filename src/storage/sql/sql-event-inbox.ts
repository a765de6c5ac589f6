import { randomUUID } from 'node:crypto';
import type { ChatEvent, InboundEvent } from '../../core/chat-event';
import type { Subject } from '../../core/conversation-store';
import type { EventInbox } from '../../core/event-inbox';
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

/**
 * The durable inbox: an event is recorded (encrypted) in the same group commit as others
 * arriving meanwhile, and `record` resolves only after that commit, so the gateway's ack
 * follows durability. The primary key on event_id deduplicates across every instance sharing
 * the database. The recording instance holds a lease on the event until it is handled; an
 * event whose lease ran out (its instance died) is replayed by whichever instance recovers it.
 * Handled events keep only their id (for deduplication), never their payload.
 */
export class SqlEventInbox implements EventInbox {
  readonly instanceId = randomUUID();

  constructor(
    private readonly ctx: StorageContext,
    private readonly leaseMs = 5 * 60_000,
  ) {}

  async record(event: InboundEvent): Promise<'recorded' | 'duplicate'> {
    const subject = subjectOf(event.event);
    const subjectRef = subject ? this.ctx.subjectRef(event.teamId, subject) : '';
    // An erased person's (or team's) late events are acknowledged and dropped, never stored.
    if (await this.ctx.tombstones.isErased(event.teamId, subjectRef)) return 'duplicate';
    const key = await this.ctx.keyOf(event.teamId, subjectRef || undefined);
    const payload = this.ctx.seal(
      { table: 'inbox', teamId: event.teamId, recordId: event.eventId, field: 'payload' },
      event,
      key,
    );
    const now = this.ctx.now();
    const changes = await this.ctx.db.write(
      (tx) =>
        tx.run(
          'INSERT INTO inbox (event_id, team_id, subject_ref, received_at, payload, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [event.eventId, event.teamId, subjectRef, now, payload, this.instanceId, now + this.leaseMs],
        ),
      'ack',
    );
    return changes === 1 ? 'recorded' : 'duplicate';
  }

  async markHandled(eventId: string): Promise<void> {
    await this.ctx.db.write((tx) =>
      tx.run(
        'UPDATE inbox SET handled_at = ?, payload = NULL, lease_owner = NULL, lease_until = NULL WHERE event_id = ?',
        [this.ctx.now(), eventId],
      ),
    );
  }

  /** Claims unhandled events whose lease ran out (or that this instance recorded before a restart). */
  async unhandled(limit: number): Promise<InboundEvent[]> {
    const now = this.ctx.now();
    const rows = await this.ctx.db.all<{
      event_id: string;
      team_id: string;
      payload: Buffer | null;
      lease_until: number | null;
    }>(
      'SELECT event_id, team_id, payload, lease_until FROM inbox WHERE handled_at IS NULL AND (lease_until IS NULL OR lease_until < ?) ORDER BY received_at LIMIT ?',
      [now, limit],
    );
    const claimed = await this.ctx.db.transaction(async (tx) => {
      const mine: typeof rows = [];
      for (const row of rows) {
        const won = await tx.run(
          'UPDATE inbox SET lease_owner = ?, lease_until = ? WHERE event_id = ? AND handled_at IS NULL AND (lease_until IS NULL OR lease_until < ?)',
          [this.instanceId, now + this.leaseMs, row.event_id, now],
        );
        if (won === 1) mine.push(row);
      }
      return mine;
    });
    const events: InboundEvent[] = [];
    for (const row of claimed) {
      const event = row.payload
        ? await this.ctx.open<InboundEvent>(
            { table: 'inbox', teamId: row.team_id, recordId: row.event_id, field: 'payload' },
            row.payload,
          )
        : undefined;
      if (event) events.push(event);
      else await this.markHandled(row.event_id); // its subject was erased meanwhile: nothing left to handle
    }
    return events;
  }
}
