import { LRUCache } from 'lru-cache';

export interface ExchangeLimiterOptions {
  /** Code exchanges one client address may have failed (or have in flight) per window. Default 5. */
  perAddress: number;
  /** Default 10 minutes, the lifetime of a code. */
  windowMs: number;
  /** Addresses remembered at once (least recently seen forgotten first). Default 10 000. */
  maxAddresses: number;
}

export const DEFAULT_EXCHANGE_LIMITS: ExchangeLimiterOptions = {
  perAddress: 5,
  windowMs: 10 * 60_000,
  maxAddresses: 10_000,
};

/**
 * Code exchanges per client address, in this process's memory. An exchange takes a slot when it
 * starts and gives it back when it installs, so an admin who installs is never held back while a
 * caller sending junk codes runs out after a few; a window after its first slot, an address
 * starts afresh. IPv6 addresses count by their /64, which one subscriber usually holds whole.
 */
export class ExchangeLimiter {
  private readonly opts: ExchangeLimiterOptions;
  private readonly slots: LRUCache<string, { used: number }>;

  constructor(options: Partial<ExchangeLimiterOptions> = {}) {
    this.opts = { ...DEFAULT_EXCHANGE_LIMITS, ...options };
    this.slots = new LRUCache({ max: this.opts.maxAddresses, ttl: this.opts.windowMs, ttlAutopurge: false });
  }

  /** Takes a slot for `address`; false when it has none left in this window. */
  take(address: string): boolean {
    const key = addressKey(address);
    const entry = this.slots.get(key, { updateAgeOnGet: false });
    if (!entry) {
      this.slots.set(key, { used: 1 });
      return true;
    }
    if (entry.used >= this.opts.perAddress) return false;
    entry.used += 1;
    return true;
  }

  /** The exchange installed: its slot is free again. */
  giveBack(address: string): void {
    const entry = this.slots.get(addressKey(address), { updateAgeOnGet: false });
    if (entry && entry.used > 0) entry.used -= 1;
  }
}

function addressKey(address: string): string {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!plain.includes(':')) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const groups = head.split(':').filter(Boolean);
  const trailing = tail.split(':').filter(Boolean);
  const full = [...groups, ...Array<string>(8 - groups.length - trailing.length).fill('0'), ...trailing];
  return `${full.slice(0, 4).join(':')}::/64`;
}
