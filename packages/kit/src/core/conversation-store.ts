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

/** A person whose Data this is: erasure requests name one. */
export interface Subject {
  readonly kind: 'visitor' | 'agent';
  readonly id: string;
}

export interface StoredMessage {
  readonly teamId: string;
  readonly conversationId: string;
  readonly eventId: string;
  /** Whose Data the message is: its author, or for bot and system messages the conversation's visitor. */
  readonly subject: Subject | undefined;
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

/** Cached profiles of visitors, agents and the team itself (names, emails…), as ClickDesk last confirmed them. */
export interface ProfileStore {
  put(teamId: string, subject: Subject, fields: Readonly<Record<string, string>>): Promise<void>;
  get(teamId: string, subject: Subject): Promise<Record<string, string> | undefined>;
  putTeam(teamId: string, fields: Readonly<Record<string, string>>): Promise<void>;
  getTeam(teamId: string): Promise<Record<string, string> | undefined>;
}
