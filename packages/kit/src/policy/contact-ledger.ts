import { LRUCache } from 'lru-cache';
import { createHmac, randomBytes } from 'node:crypto';

/**
 * Which conversation each contact detail (email, phone) came from, so that one obtained from
 * ClickDesk is never sent anywhere else (Terms 4.8.3). Details are held as keyed hashes under
 * a key that lives only in this process, and the ledger is bounded (oldest forgotten first).
 */
export class ContactLedger {
  private readonly key = randomBytes(32);
  private readonly seen: LRUCache<string, Set<string>>;

  constructor(maxEntries = 50_000) {
    this.seen = new LRUCache({ max: maxEntries });
  }

  record(conversationKey: string, contact: string): void {
    const id = this.hash(contact);
    const owners = this.seen.get(id) ?? new Set<string>();
    owners.add(conversationKey);
    this.seen.set(id, owners);
  }

  /** True when the detail came from ClickDesk, but not from this conversation. */
  belongsElsewhere(conversationKey: string, contact: string): boolean {
    const owners = this.seen.get(this.hash(contact));
    return owners !== undefined && !owners.has(conversationKey);
  }

  private hash(contact: string): string {
    return createHmac('sha256', this.key).update(contact).digest('base64url');
  }
}
