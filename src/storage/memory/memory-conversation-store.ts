import type {
  ConversationRecord,
  ConversationStore,
  MessageStore,
  StoredMessage,
} from '../../core/conversation-store';

/** Conversation state in process memory: sandbox mode and tests. */
export class MemoryConversationStore implements ConversationStore {
  private readonly records = new Map<string, ConversationRecord>();

  get(teamId: string, conversationId: string): Promise<ConversationRecord | undefined> {
    return Promise.resolve(this.records.get(`${teamId}:${conversationId}`));
  }

  put(record: ConversationRecord): Promise<void> {
    this.records.set(`${record.teamId}:${record.conversationId}`, record);
    return Promise.resolve();
  }
}

/** Chat history in process memory, capped per conversation so a long chat cannot grow without bound. */
export class MemoryMessageStore implements MessageStore {
  private readonly byConversation = new Map<string, StoredMessage[]>();

  constructor(private readonly maxPerConversation = 1000) {}

  append(message: StoredMessage): Promise<void> {
    const key = `${message.teamId}:${message.conversationId}`;
    const list = this.byConversation.get(key) ?? [];
    list.push(message);
    if (list.length > this.maxPerConversation) list.shift();
    this.byConversation.set(key, list);
    return Promise.resolve();
  }

  listConversation(teamId: string, conversationId: string): Promise<StoredMessage[]> {
    return Promise.resolve([...(this.byConversation.get(`${teamId}:${conversationId}`) ?? [])]);
  }
}
