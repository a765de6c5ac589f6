import type { Logger } from 'pino';
import type { InboundEvent } from './chat-event';
import type { ConversationRecord } from './conversation-store';

/** What a handler gets besides the event: the conversation as it stands, and actions. */
export interface HandlerContext {
  /** The conversation after this event was applied; undefined for events outside one. */
  readonly conversation: ConversationRecord | undefined;
  reply(text: string): Promise<void>;
  /** Hands the conversation to human agents; the bot stays quiet afterwards. */
  transferToHuman(): Promise<void>;
  readonly logger: Logger;
}

/**
 * The seam a fork replaces: the bot. Called once per event (redeliveries are filtered out
 * before it), in order within a conversation.
 */
export interface ChatHandler {
  handle(event: InboundEvent, ctx: HandlerContext): Promise<void>;
}
