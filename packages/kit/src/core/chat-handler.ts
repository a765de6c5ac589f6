import type { Logger } from 'pino';
import type { InboundEvent } from './chat-event';
import type { ConversationRecord } from './conversation-store';

/** The visitor of a conversation, as ClickDesk last told the app (Terms 6.1: refreshed or dropped within 24 h). */
export interface VisitorProfile {
  readonly id: string;
  /** The name the visitor gave ClickDesk; undefined if they gave none or it was erased. */
  readonly name: string | undefined;
}

/**
 * What a handler gets besides the event. `reply` and `transferToHuman` are recorded with the
 * event and sent exactly once, however often the handler runs; everything else a handler does
 * must be safe to repeat (a crash before the event's commit runs it again).
 */
export interface HandlerContext {
  /** The conversation after this event was applied; undefined for events outside one. */
  readonly conversation: ConversationRecord | undefined;
  /** Posts a message as the bot in this event's conversation (checked by the channel policy, Terms 4.8). */
  reply(text: string): Promise<void>;
  /** Hands the conversation to human agents; the bot stays quiet afterwards. */
  transferToHuman(): Promise<void>;
  /** The conversation's visitor with their name; read when asked, so a handler that never asks pays nothing. */
  visitor(): Promise<VisitorProfile | undefined>;
  /**
   * `fetch` that reaches only EGRESS_ALLOWED_ORIGINS and the bot's declared `egress` origins
   * (Terms 4.8.2, 4.8.3: chat Data goes nowhere else). Use it for reads or idempotent calls.
   */
  readonly fetch: typeof fetch;
  /** This event's logger; log ids and outcomes, never message text or contact details (Terms 7). */
  readonly logger: Logger;
}

/**
 * The seam a fork fills: the bot. Called once per event (redeliveries are filtered out before
 * it; a crash may replay it, see `HandlerContext`), in order within a conversation, and never
 * for the bot's own messages unless `receivesOwnMessages` is true. A thrown error retries the
 * event with backoff (5 runs), then dead-letters it.
 */
export interface ChatHandler {
  handle(event: InboundEvent, ctx: HandlerContext): Promise<void>;
  /** Also called for the messages the bot itself posted (ClickDesk echoes them as events). */
  readonly receivesOwnMessages?: boolean;
}
