import type { InboundEvent } from '../../core/chat-event';
import type { DeadLetter, DeadLetterCounts, DeadLetterStore } from '../../core/dead-letters';
import type { Completion, EventInbox } from '../../core/event-inbox';
import { MemoryOutbox } from './memory-outbox';

/**
 * In-process inbox: deduplicates within this process only and forgets on restart. Handled
 * ids are kept in a bounded window (redeliveries arrive within seconds), so memory stays flat
 * however many events pass. Every recorded event is already being handled by this process, so
 * there is never anything to replay; within the process the guarantees are the SQL inbox's:
 * effects join the outbox as the event is marked handled, failures are counted, dead letters kept.
 */
export class MemoryEventInbox implements EventInbox {
  readonly outbox: MemoryOutbox;
  readonly deadLetters: DeadLetterStore;
  /**
   * Every id this inbox knows, in one map (one lookup decides a duplicate): pending events with
   * their failure count, and `HANDLED` or `DEAD` for the others.
   */
  private readonly known = new Map<string, PendingEvent | typeof HANDLED | typeof DEAD>();
  private readonly dead = new Map<string, { event: InboundEvent; reason: string; at: number }>();
  private pendingCount = 0;
  /**
   * The handled ids in the order they were handled, a ring of `handledWindow` slots: the
   * oldest is found by position. (Taking a Map's first entry after deleting from its front
   * walks every deleted slot, V8 compacts them only on a rehash: 28 µs an event at 100,000.)
   */
  private readonly handledOrder: Array<string | undefined>;
  private handledNext = 0;

  constructor(
    handledWindow = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.handledOrder = new Array<string | undefined>(Math.max(1, handledWindow));
    this.outbox = new MemoryOutbox(now);
    this.deadLetters = new MemoryDeadLetters(this, this.outbox);
  }

  record(event: InboundEvent): Promise<'recorded' | 'duplicate'> {
    const id = event.eventId;
    if (this.known.has(id)) return DUPLICATE;
    this.known.set(id, { event, failures: 0 });
    this.pendingCount += 1;
    return RECORDED;
  }

  complete(eventId: string, completion: Completion): Promise<'completed' | 'lost'> {
    if (this.known.get(eventId) === HANDLED) return LOST;
    this.outbox.add(completion.effects);
    if (completion.echoOf) this.outbox.settleByEcho(completion.echoOf.effectId);
    this.markHandled(eventId);
    return COMPLETED;
  }

  failed(eventId: string, _error: string): Promise<number> {
    const entry = this.known.get(eventId);
    if (typeof entry !== 'object') return Promise.resolve(1);
    entry.failures += 1;
    return Promise.resolve(entry.failures);
  }

  deadLetter(eventId: string, reason: string): Promise<void> {
    const entry = this.known.get(eventId);
    if (typeof entry === 'object') {
      this.pendingCount -= 1;
      this.known.set(eventId, DEAD);
      this.dead.set(eventId, { event: entry.event, reason, at: this.now() });
    }
    return Promise.resolve();
  }

  unhandled(_limit: number): Promise<InboundEvent[]> {
    return Promise.resolve([]);
  }

  renewLeases(): Promise<void> {
    return Promise.resolve();
  }

  releaseLeases(): Promise<void> {
    return Promise.resolve();
  }

  /** Events recorded and not yet handled (for tests and diagnostics). */
  get pending(): number {
    return this.pendingCount;
  }

  /** Dead events, for the dead-letter view. */
  deadEvents(): DeadLetter[] {
    return [...this.dead].map(([id, d]) => ({
      kind: 'event' as const,
      id,
      teamId: d.event.teamId,
      reason: d.reason,
      at: d.at,
    }));
  }

  dropDead(eventId: string): boolean {
    if (!this.dead.delete(eventId)) return false;
    this.markHandled(eventId);
    return true;
  }

  private markHandled(eventId: string): void {
    const entry = this.known.get(eventId);
    if (entry === HANDLED) return;
    if (typeof entry === 'object') this.pendingCount -= 1;
    this.known.set(eventId, HANDLED);
    const oldest = this.handledOrder[this.handledNext];
    if (oldest !== undefined) this.known.delete(oldest);
    this.handledOrder[this.handledNext] = eventId;
    this.handledNext = (this.handledNext + 1) % this.handledOrder.length;
  }
}

interface PendingEvent {
  event: InboundEvent;
  failures: number;
}

const HANDLED = 'handled';
const DEAD = 'dead';
// Settled promises shared by every call: the per-event path allocates none.
const RECORDED = Promise.resolve('recorded' as const);
const DUPLICATE = Promise.resolve('duplicate' as const);
const COMPLETED = Promise.resolve('completed' as const);
const LOST = Promise.resolve('lost' as const);

class MemoryDeadLetters implements DeadLetterStore {
  constructor(
    private readonly inbox: MemoryEventInbox,
    private readonly outbox: MemoryOutbox,
  ) {}

  list(limit: number): Promise<DeadLetter[]> {
    const all = [...this.inbox.deadEvents(), ...this.outbox.deadLetters()].sort((a, b) => a.at - b.at);
    return Promise.resolve(all.slice(0, limit));
  }

  count(): Promise<DeadLetterCounts> {
    return Promise.resolve({
      event: this.inbox.deadEvents().length,
      effect: this.outbox.deadLetters().length,
    });
  }

  /** Memory dead events cannot be replayed from here (nothing replays a memory inbox); effects can. */
  retry(kind: DeadLetter['kind'], id: string): Promise<boolean> {
    return Promise.resolve(kind === 'effect' ? this.outbox.revive(id) : false);
  }

  drop(kind: DeadLetter['kind'], id: string): Promise<boolean> {
    return Promise.resolve(kind === 'effect' ? this.outbox.drop(id) : this.inbox.dropDead(id));
  }
}
