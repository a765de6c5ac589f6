import type { Subject } from './conversation-store';

/** Something a handler asked ClickDesk to do. */
export type Effect = { readonly kind: 'post'; readonly text: string } | { readonly kind: 'transfer' };

/** An effect as the dispatcher commits it, with the event that caused it. */
export interface OutboxEffect {
  /**
   * Deterministic (event id + position, see effect-id.ts) and sent as `client_msg_id`, so a
   * replayed event produces the same ids and a send of unknown outcome can be looked up.
   */
  readonly effectId: string;
  readonly eventId: string;
  readonly teamId: string;
  readonly conversationId: string;
  /** Whose Data the effect carries (the conversation's visitor): its key, and erased with them. */
  readonly subject: Subject | undefined;
  readonly effect: Effect;
}

/** An effect waiting to be delivered (its subject is kept only as the key it is encrypted under). */
export interface OutboxRow extends Omit<OutboxEffect, 'subject'> {
  /** Failed tries so far (drives the backoff). */
  readonly tries: number;
  /**
   * Unix ms when a send last left for ClickDesk without its answer being recorded: the outcome
   * is unknown (a crash, a timeout), so the sender looks in `conversations.history` first.
   */
  readonly attemptedAt: number | undefined;
  /** Unix ms the effect was committed. */
  readonly createdAt: number;
}

export type DoneOutcome = 'sent' | 'already_sent' | 'blocked' | 'erased';

/**
 * Effects committed with their event and not yet delivered. Rows of one conversation are
 * delivered in commit order: only the oldest open row of a conversation is ever claimed.
 * Every change after `claim` holds only while this instance still leases the row.
 */
export interface Outbox {
  /** Leases up to `limit` rows that are due, one per conversation, oldest first. */
  claim(limit: number): Promise<OutboxRow[]>;
  /** Records, durably, that a send is leaving now; false if the lease was lost (do not send). */
  markAttempt(effectId: string): Promise<boolean>;
  markDone(effectId: string, outcome: DoneOutcome): Promise<void>;
  /**
   * An earlier send's outcome is unknown and its echo may still settle it (see
   * `Completion.echoOf`): releases the row until `at` without counting a failed try.
   */
  awaitEcho(effectId: string, at: number): Promise<void>;
  /**
   * Releases the row until `at`. `delivered: 'no'` when the failure proves ClickDesk did not act
   * (an error answer), so the next try need not look in the history first.
   */
  retryLater(effectId: string, at: number, error: string, delivered: 'no' | 'unknown'): Promise<void>;
  /** A permanent failure: kept, encrypted, for an operator (`npm run dead-letters`). */
  deadLetter(effectId: string, reason: string): Promise<void>;
  /** Heartbeat: extends the lease of every row this instance holds. */
  renewLeases(): Promise<void>;
  /** Graceful stop, once no delivery is in flight: gives up every row lease this instance holds. */
  releaseLeases(): Promise<void>;
  /** The next claim also takes back rows this instance still leases (after a storage outage). */
  reclaimOwnLeases?(): void;
}
