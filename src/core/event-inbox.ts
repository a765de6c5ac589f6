import type { InboundEvent } from './chat-event';

/**
 * What the gateway and dispatcher need from the place events are recorded.
 * The gateway acknowledges an envelope only after `record` resolves, so `record` must
 * resolve only once the event is as durable as the adapter can make it. Deduplication by
 * `eventId` is what turns ClickDesk's at-least-once delivery into handled-once.
 */
export interface EventInbox {
  /** Records the event unless its id was seen before. */
  record(event: InboundEvent): Promise<'recorded' | 'duplicate'>;
  /** The event's handler has finished; it must not be replayed after a restart. */
  markHandled(eventId: string): Promise<void>;
  /** Recorded but not yet handled (e.g. cut off by a crash), oldest first. */
  unhandled(limit: number): Promise<InboundEvent[]>;
}
