import type { InboundEvent } from '../../core/chat-event';
import type { EventInbox } from '../../core/event-inbox';

/**
 * In-process inbox: deduplicates within this process only and forgets on restart. Handled
 * ids are kept in a bounded window (redeliveries arrive within seconds), so memory stays flat
 * however many events pass. Every recorded event is already being handled by this process, so
 * there is never anything to replay.
 */
export class MemoryEventInbox implements EventInbox {
  private readonly pendingEvents = new Map<string, InboundEvent>();
  private readonly handled = new Set<string>();

  constructor(private readonly handledWindow = 100_000) {}

  record(event: InboundEvent): Promise<'recorded' | 'duplicate'> {
    if (this.pendingEvents.has(event.eventId) || this.handled.has(event.eventId)) {
      return Promise.resolve('duplicate');
    }
    this.pendingEvents.set(event.eventId, event);
    return Promise.resolve('recorded');
  }

  markHandled(eventId: string): Promise<void> {
    this.pendingEvents.delete(eventId);
    this.handled.add(eventId);
    if (this.handled.size > this.handledWindow) {
      // Sets iterate in insertion order: the first entry is the oldest.
      const oldest = this.handled.values().next();
      if (!oldest.done) this.handled.delete(oldest.value);
    }
    return Promise.resolve();
  }

  unhandled(_limit: number): Promise<InboundEvent[]> {
    return Promise.resolve([]);
  }

  /** Events recorded and not yet handled (for tests and diagnostics). */
  get pending(): number {
    return this.pendingEvents.size;
  }
}
