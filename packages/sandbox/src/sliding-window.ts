/**
 * ClickDesk's limit: never more than `limit` accepted calls in any `windowMs` span. Keeps
 * the accept times of each key; memory is bounded by `limit` per key.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  /** Accepts and records the call if there is room. `resetMs` is when one more call fits. */
  take(
    key: string,
    limit: number,
    windowMs: number,
    now: number,
  ): { allowed: boolean; remaining: number; resetMs: number } {
    const times = this.prune(key, windowMs, now);
    if (times.length >= limit) {
      return { allowed: false, remaining: 0, resetMs: (times[times.length - limit] ?? now) + windowMs };
    }
    times.push(now);
    const remaining = limit - times.length;
    const resetMs = remaining > 0 ? now : (times[times.length - limit] ?? now) + windowMs;
    return { allowed: true, remaining, resetMs };
  }

  private prune(key: string, windowMs: number, now: number): number[] {
    let times = this.hits.get(key);
    if (!times) {
      times = [];
      this.hits.set(key, times);
    }
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= now - windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    return times;
  }
}

/** chat.postMessage's per-conversation rule: `ratePerSec` sustained, bursts of `burst`. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  take(
    key: string,
    ratePerSec: number,
    burst: number,
    now: number,
  ): { allowed: boolean; retryAfterMs: number } {
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: ((1 - b.tokens) / ratePerSec) * 1000 };
  }
}
