import { LRUCache } from 'lru-cache';
import type {
  ConversationRecord,
  ConversationStore,
  MessageStore,
  ProfileStore,
  StoredMessage,
  Subject,
} from '../../core/conversation-store';

/**
 * Conversation state in process memory, for sandbox mode and tests. Holds at most
 * `maxConversations`; the least recently used are forgotten first.
 */
export class MemoryConversationStore implements ConversationStore {
  private readonly records: LRUCache<string, ConversationRecord>;

  constructor(maxConversations = 10_000) {
    this.records = new LRUCache({ max: maxConversations });
  }

  get(teamId: string, conversationId: string): Promise<ConversationRecord | undefined> {
    return Promise.resolve(this.records.get(`${teamId}:${conversationId}`));
  }

  put(record: ConversationRecord): Promise<void> {
    const key = `${record.teamId}:${record.conversationId}`;
    this.records.set(key, record);
    return Promise.resolve();
  }
}

/**
 * Chat history in process memory: the newest `maxMessages` messages across all
 * conversations, so memory stays flat however long the process runs.
 */
export class MemoryMessageStore implements MessageStore {
  private readonly threads = new Map<string, Thread>();
  /**
   * The thread of every held message, oldest first; `head` marks the oldest live entry. A
   * reference, not a key string per message: each message outlives many young-generation
   * collections, so whatever it keeps is copied into V8's old space and stays there as garbage
   * until a full collection.
   */
  private order: Thread[] = [];
  private head = 0;

  constructor(private readonly maxMessages = 10_000) {}

  append(message: StoredMessage): Promise<void> {
    const key = `${message.teamId}:${message.conversationId}`;
    let thread = this.threads.get(key);
    if (!thread) this.threads.set(key, (thread = { key, messages: [] }));
    thread.messages.push(message);
    this.order.push(thread);
    if (this.order.length - this.head > this.maxMessages) this.evictOldest();
    return Promise.resolve();
  }

  listConversation(teamId: string, conversationId: string): Promise<StoredMessage[]> {
    return Promise.resolve([...(this.threads.get(`${teamId}:${conversationId}`)?.messages ?? [])]);
  }

  private evictOldest(): void {
    const thread = this.order[this.head++];
    if (thread === undefined) return;
    thread.messages.shift();
    if (thread.messages.length === 0 && this.threads.get(thread.key) === thread)
      this.threads.delete(thread.key);
    if (this.head > this.maxMessages) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

interface Thread {
  readonly key: string;
  readonly messages: StoredMessage[];
}

/** Profiles in process memory, at most `maxProfiles` (least recently used forgotten first). */
export class MemoryProfileStore implements ProfileStore {
  private readonly profiles: LRUCache<string, Record<string, string>>;

  constructor(maxProfiles = 10_000) {
    this.profiles = new LRUCache({ max: maxProfiles });
  }

  put(teamId: string, subject: Subject, fields: Readonly<Record<string, string>>): Promise<void> {
    const key = `${teamId}:${subject.kind}:${subject.id}`;
    this.profiles.set(key, { ...fields });
    return Promise.resolve();
  }

  get(teamId: string, subject: Subject): Promise<Record<string, string> | undefined> {
    const found = this.profiles.get(`${teamId}:${subject.kind}:${subject.id}`);
    return Promise.resolve(found && { ...found });
  }

  putTeam(teamId: string, fields: Readonly<Record<string, string>>): Promise<void> {
    this.profiles.set(`${teamId}:team`, { ...fields });
    return Promise.resolve();
  }

  getTeam(teamId: string): Promise<Record<string, string> | undefined> {
    const found = this.profiles.get(`${teamId}:team`);
    return Promise.resolve(found && { ...found });
  }
}
