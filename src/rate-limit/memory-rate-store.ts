import type { BucketSpec } from './bucket-spec';
import type { Acquire, RateStore } from './rate-store';

type Window = Extract<BucketSpec, { kind: 'window' }>;

/** The governor's counts in process memory: one instance's budget. */
export class MemoryRateStore implements RateStore {
  private readonly windows = new Map<string, number[]>();
  private readonly tokens = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire> {
    const now = this.now();
    let wait = 0;
    const full: string[] = [];
    for (const b of buckets) {
      const w = this.waitFor(b, now);
      if (w > 0) full.push(b.key);
      wait = Math.max(wait, w);
    }
    if (wait > 0) return Promise.resolve({ ok: false, waitMs: Math.ceil(wait), full });
    for (const b of buckets) {
      if (b.kind === 'window') this.log(b, now).push(now);
      else {
        const t = this.bucket(b, now);
        t.tokens -= 1;
      }
    }
    return Promise.resolve({ ok: true });
  }

  used(bucket: Window): Promise<number> {
    return Promise.resolve(this.log(bucket, this.now()).length);
  }

  reconcile(bucket: Window, serverUsed: number): Promise<void> {
    const now = this.now();
    const log = this.log(bucket, now);
    while (log.length < Math.min(serverUsed, bucket.limit)) log.push(now);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private waitFor(b: BucketSpec, now: number): number {
    if (b.kind === 'window') {
      const log = this.log(b, now);
      return log.length < b.limit ? 0 : (log[log.length - b.limit] ?? now) + b.windowMs - now;
    }
    const t = this.bucket(b, now);
    return t.tokens >= 1 ? 0 : ((1 - t.tokens) / b.ratePerSec) * 1000;
  }

  /** The window's call times, pruned to those still inside it. */
  private log(b: Window, now: number): number[] {
    let log = this.windows.get(b.key);
    if (!log) {
      log = [];
      this.windows.set(b.key, log);
    }
    let drop = 0;
    while (drop < log.length && (log[drop] ?? 0) <= now - b.windowMs) drop++;
    if (drop > 0) log.splice(0, drop);
    return log;
  }

  private bucket(b: Extract<BucketSpec, { kind: 'token' }>, now: number): { tokens: number; at: number } {
    const t = this.tokens.get(b.key) ?? { tokens: b.burst, at: now };
    t.tokens = Math.min(b.burst, t.tokens + ((now - t.at) / 1000) * b.ratePerSec);
    t.at = now;
    this.tokens.delete(b.key);
    this.tokens.set(b.key, t);
    if (this.tokens.size > 10_000) {
      // Full buckets carry no information; forget the oldest conversations.
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
    return t;
  }
}
