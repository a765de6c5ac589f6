import type { InboundEvent } from './chat-event';
import type { MessageStore } from './conversation-store';
import type { DeadLetterStore } from './dead-letters';
import type { Outbox, OutboxEffect } from './outbox';

/** What the dispatcher commits when a handler finished. */
export interface Completion {
  /** The handler's effects, in the order it asked for them. */
  readonly effects: readonly OutboxEffect[];
  /** The handler handed the conversation to agents: its status becomes `handed_over` in the same commit. */
  readonly handover?: { readonly teamId: string; readonly conversationId: string };
  /**
   * The event is this bot's own echo of the effect with this id (its `client_msg_id`): ClickDesk
   * has the message, so an outbox row still waiting on that send's unknown outcome is settled as
   * sent in the same commit, with no `conversations.history` lookup.
   */
  readonly echoOf?: { readonly teamId: string; readonly effectId: string };
}

/**
 * What the gateway and dispatcher need from the place events are recorded.
 * The gateway acknowledges an envelope only after `record` resolves, so `record` must
 * resolve only once the event is as durable as the adapter can make it. Deduplication by
 * `eventId` is what turns ClickDesk's at-least-once delivery into handled-once; the outbox,
 * filled in the same commit that marks an event handled, turns it into effects-once.
 *
 * An instance leases the events it records or replays; every completion is conditional on
 * still holding the lease, and `renewLeases` (a heartbeat) keeps them while work is queued.
 */
export interface EventInbox {
  /** Where `complete` puts effects; the sender delivers from it. */
  readonly outbox: Outbox;
  readonly deadLetters: DeadLetterStore;
  /** Records the event unless its id was seen before. */
  record(event: InboundEvent): Promise<'recorded' | 'duplicate'>;
  /**
   * The message store that already holds this event's message, written in the event's own
   * commit (an inbox that stores each message once); the dispatcher then does not store it again.
   * Asked with the object `record` or `unhandled` gave.
   */
  messageStoredWith?(event: InboundEvent): MessageStore | undefined;
  /**
   * In one commit: the effects join the outbox, a handover is applied, the event is marked
   * handled. `lost` (and nothing written) if another instance took the event over meanwhile.
   */
  complete(eventId: string, completion: Completion): Promise<'completed' | 'lost'>;
  /** The handler failed; returns how many times it has failed for this event (kept across restarts). */
  failed(eventId: string, error: string): Promise<number>;
  /** Gives up on the event: kept, encrypted, as a dead letter with its reason. */
  deadLetter(eventId: string, reason: string): Promise<void>;
  /**
   * Claims recorded events nobody is handling (their instance died, or this instance before a
   * restart), oldest first. Each is decrypted alone: one that cannot be is dead-lettered alone.
   */
  unhandled(limit: number): Promise<InboundEvent[]>;
  /** Heartbeat: extends the lease of every event this instance holds. */
  renewLeases(): Promise<void>;
  /** Graceful stop: gives up every event lease this instance holds, so others take them at once. */
  releaseLeases(): Promise<void>;
  /** The next claim also takes back rows this instance still leases (after a storage outage). */
  reclaimOwnLeases?(): void;
}
