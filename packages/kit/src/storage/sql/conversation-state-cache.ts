import { LRUCache } from 'lru-cache';
import type { ConversationRecord } from '../../core/conversation-store';

interface Entry {
  readonly record: ConversationRecord;
  /** When the row's confirmation turns 24 hours old: never served after that (Terms 6.1). */
  readonly freshUntil: number;
}

/**
 * Conversation state held in memory, so a chat message costs no read and no decryption of its
 * conversation (the dispatcher asks for it on every message). Only where this process is the
 * database's one writer (SQLite): on PostgreSQL another instance may change a status at any time.
 *
 * Every change in this process goes through `forget` (a status written, a conversation deleted)
 * or `clear` (a key shredded: an erasure; Terms 6.3). Each bumps a generation; a read or write
 * caches what it saw only if no change came between its `ticket` and its `remember`, so a
 * result read before a change can never be stored after it. An entry is never served once the
 * row it was read from is older than the freshness limit (Terms 6.1), and the least recently
 * used go first past `max`.
 */
export class ConversationStateCache {
  private static readonly byDatabase = new WeakMap<object, ConversationStateCache>();

  /** The cache of this database connection: every store and context on it shares one. */
  static of(db: object): ConversationStateCache {
    let cache = ConversationStateCache.byDatabase.get(db);
    if (!cache) {
      cache = new ConversationStateCache();
      ConversationStateCache.byDatabase.set(db, cache);
    }
    return cache;
  }

  private readonly entries: LRUCache<string, Entry>;
  private generation = 0;

  constructor(max = 10_000) {
    this.entries = new LRUCache({ max });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Taken before reading or writing the row whose state `remember` may then cache. */
  ticket(): number {
    return this.generation;
  }

  get(teamId: string, conversationRef: string, now: number): ConversationRecord | undefined {
    const key = `${teamId}|${conversationRef}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.freshUntil > now) return entry.record;
    this.entries.delete(key);
    return undefined;
  }

  /** Caches the state read or written under `ticket`, unless something changed since. */
  remember(
    ticket: number,
    conversationRef: string,
    record: ConversationRecord,
    freshUntil: number,
    now: number,
  ): void {
    if (ticket !== this.generation || freshUntil <= now) return;
    this.entries.set(`${record.teamId}|${conversationRef}`, { record, freshUntil });
  }

  /** The conversation's row is about to change (or be deleted). Returns the new ticket. */
  forget(teamId: string, conversationRef: string): number {
    this.generation += 1;
    this.entries.delete(`${teamId}|${conversationRef}`);
    return this.generation;
  }

  /** Keys were shredded: drop everything (erasures are rare; a miss costs one read). */
  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
