import type { SenderKind } from './chat-event';

/**
 * Who is answering a conversation. `bot` until a human is involved; `handed_over` once the
 * bot asked for one; `agent` once an agent joined; `closed` at the end.
 */
export type ConversationStatus = 'bot' | 'handed_over' | 'agent' | 'closed';

export interface ConversationRecord {
  readonly teamId: string;
  readonly conversationId: string;
  readonly visitorId: string;
  readonly status: ConversationStatus;
  /** Unix seconds. */
  readonly startedAt: number;
}

export interface StoredMessage {
  readonly teamId: string;
  readonly conversationId: string;
  readonly eventId: string;
  readonly sender: { readonly kind: SenderKind; readonly id: string };
  readonly text: string;
  readonly ts: string;
}

/** Conversation state the dispatcher keeps so handlers can tell who is answering. */
export interface ConversationStore {
  get(teamId: string, conversationId: string): Promise<ConversationRecord | undefined>;
  put(record: ConversationRecord): Promise<void>;
}

/** The chat history the app keeps (Terms 6.2: adapters store it encrypted). */
export interface MessageStore {
  append(message: StoredMessage): Promise<void>;
  listConversation(teamId: string, conversationId: string): Promise<StoredMessage[]>;
}
