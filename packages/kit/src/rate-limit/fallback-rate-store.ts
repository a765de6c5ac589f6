import type { Logger } from 'pino';
import type { BucketSpec, WindowBucket } from './bucket-spec';
import { MemoryRateStore } from './memory-rate-store';
import type { Acquire, LimitChange, RateStore, ServerView, Ticket } from './rate-store';

export type RateStoreMode = 'shared' | 'fallback' | 'returning';

export interface FallbackRateStoreOptions {
  /** The budget every instance shares (Redis). */
  shared: RateStore;
  /** Instances assumed at least while the shared store is unreachable (RATE_FALLBACK_INSTANCES). */
  instances: number;
  /** How many instances the shared store knows now (asked while it answers); optional. */
  countInstances?: () => Promise<number>;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** A shared call that takes longer than this counts as a failure (default 1 s). */
  timeoutMs?: number;
  /** While falling back, how often the shared store is tried again (default 1 s). */
  retryMs?: number;
  onModeChange?: (mode: RateStoreMode) => void;
  /** Clock (tests). */
  now?: () => number;
}

const LOCAL = 'local:';
const BOTH = 'both:';
/** A bucket key no call uses: asking its usage tells whether the shared store answers. */
const PROBE: WindowBucket = {
  kind: 'window',
  key: 'probe:reachable',
  method: 'probe',
  limit: 1,
  windowMs: 1_000,
  marginMs: 0,
  inFlightMs: 1_000,
};

/**
 * The shared rate store, with a conservative local fallback (Terms 4.9: no 429, even when Redis
 * is down). While the shared store answers, every call goes to it. When it fails or times out,
 * each instance plans alone with 1/N of every limit (N: the instances it last knew, at least
 * RATE_FALLBACK_INSTANCES), in memory, starting from the calls it let go itself in the current
 * window; so all instances together stay within each limit and replies slow down, never stop.
 * Once the shared store answers again, the instance keeps its local share until the calls it
 * counted alone have left the window (the shared store never saw them), then returns to it.
 */
export class FallbackRateStore implements RateStore {
  private current: RateStoreMode = 'shared';
  private local: MemoryRateStore | undefined;
  private divisor = 1;
  private knownInstances = 0;
  private returnAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private countTimer: NodeJS.Timeout | undefined;
  /** Calls this instance let go through the shared store, per window, for a fallback's start. */
  private readonly own = new Map<string, { bucket: WindowBucket; times: number[] }>();
  private longestWindowMs = 0;
  private readonly now: () => number;

  constructor(private readonly opts: FallbackRateStoreOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.countInstances) {
      this.countTimer = setInterval(() => void this.refreshInstances(), 5_000);
      this.countTimer.unref();
      void this.refreshInstances();
    }
  }

  get mode(): RateStoreMode {
    return this.current;
  }

  /** Whether the shared store answered last time it was asked. */
  get sharedReachable(): boolean {
    return this.current !== 'fallback';
  }

  /** The N each limit is divided by while falling back. */
  get fallbackInstances(): number {
    return Math.max(this.opts.instances, this.knownInstances);
  }

  async tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire> {
    if (this.current === 'shared') {
      try {
        const got = await this.shared((s) => s.tryAcquire(buckets));
        if (got.ok) this.remember(buckets);
        return got;
      } catch (err) {
        this.fallBack(err);
      }
    }
    this.maybeReturn();
    if (this.current === 'shared') return this.tryAcquire(buckets);
    const got = await this.localStore().tryAcquire(this.scaled(buckets));
    if (!got.ok) return got;
    // How long a call counted here alone keeps counting: the return to the shared store waits for it.
    for (const b of buckets)
      if (b.kind === 'window') this.longestWindowMs = Math.max(this.longestWindowMs, b.windowMs + b.marginMs);
    if (this.current === 'fallback')
      return { ok: true, ticket: { id: LOCAL + got.ticket.id, at: got.ticket.at } };
    // Returning: the call must fit the local share and is counted in the shared store too, so the
    // shared store holds every call from the moment it answered again.
    try {
      const shared = await this.shared((s) => s.tryAcquire(buckets));
      if (!shared.ok) return shared; // the local ticket stays in flight: counted, never sent
      return {
        ok: true,
        ticket: { id: `${BOTH}${got.ticket.id}:${shared.ticket.id}`, at: shared.ticket.at },
      };
    } catch (err) {
      this.fallBack(err);
      return { ok: true, ticket: { id: LOCAL + got.ticket.id, at: got.ticket.at } };
    }
  }

  async settle(buckets: readonly BucketSpec[], ticket: Ticket): Promise<void> {
    if (ticket.id.startsWith(LOCAL)) {
      await this.local?.settle(this.scaled(buckets), { id: ticket.id.slice(LOCAL.length), at: ticket.at });
      return;
    }
    if (ticket.id.startsWith(BOTH)) {
      const [localId = '', sharedId = ''] = ticket.id.slice(BOTH.length).split(':');
      await this.local?.settle(this.scaled(buckets), { id: localId, at: ticket.at });
      ticket = { id: sharedId, at: ticket.at };
    }
    // Unsettled, a shared call counts until its in-flight bound: later, never sooner.
    if (this.current === 'fallback') return;
    await this.shared((s) => s.settle(buckets, ticket)).catch((err: unknown) => this.fallBack(err));
  }

  async observe(bucket: WindowBucket, server: ServerView, sentAt: number | undefined): Promise<LimitChange> {
    if (this.current === 'shared') {
      try {
        return await this.shared((s) => s.observe(bucket, server, sentAt));
      } catch (err) {
        this.fallBack(err);
      }
    }
    // The server counts every instance's calls: this instance's share of them, of its share of the limit.
    const n = this.divisor;
    const local = await this.localStore().observe(
      this.scaledWindow(bucket),
      { limit: Math.max(1, Math.floor(server.limit / n)), used: Math.ceil(server.used / n) },
      sentAt,
    );
    return { ...local, previous: local.previous * n, limit: local.limit * n };
  }

  async usage(bucket: WindowBucket): Promise<{ used: number; limit: number }> {
    if (this.current === 'shared') {
      try {
        return await this.shared((s) => s.usage(bucket));
      } catch (err) {
        this.fallBack(err);
      }
    }
    return this.localStore().usage(this.scaledWindow(bucket));
  }

  async close(): Promise<void> {
    clearInterval(this.retryTimer);
    clearInterval(this.countTimer);
    await this.shared((s) => s.close()).catch(() => undefined);
  }

  private async shared<T>(call: (s: RateStore) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.opts.timeoutMs ?? 1_000;
    try {
      return await Promise.race([
        call(this.opts.shared),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the shared rate store did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
          timer.unref(); // a guard: it must not keep a stopping process alive
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private fallBack(err: unknown): void {
    if (this.current === 'fallback') return;
    const wasReturning = this.current === 'returning';
    this.current = 'fallback';
    if (!wasReturning || !this.local) {
      this.divisor = this.fallbackInstances;
      this.local = new MemoryRateStore();
      this.seedOwnCalls(this.local);
    }
    this.opts.logger.warn(
      { err: (err as Error).message, instances: this.divisor },
      `the shared rate store (Redis) is unreachable: planning with 1/${this.divisor} of every limit until it is back`,
    );
    this.opts.onModeChange?.('fallback');
    clearInterval(this.retryTimer);
    this.retryTimer = setInterval(() => void this.tryShared(), this.opts.retryMs ?? 1_000);
    this.retryTimer.unref();
  }

  private async tryShared(): Promise<void> {
    if (this.current !== 'fallback') return;
    try {
      await this.shared((s) => s.usage(PROBE));
    } catch {
      return;
    }
    clearInterval(this.retryTimer);
    this.current = 'returning';
    this.returnAt = this.now() + this.longestWindowMs;
    this.opts.logger.info(
      { returnInMs: this.longestWindowMs },
      'the shared rate store answers again: returning to it once the calls counted alone leave the window',
    );
    this.opts.onModeChange?.('returning');
    this.maybeReturn();
  }

  private maybeReturn(): void {
    if (this.current !== 'returning' || this.now() < this.returnAt) return;
    this.current = 'shared';
    this.local = undefined;
    this.opts.logger.info('back on the shared rate budget');
    this.opts.onModeChange?.('shared');
  }

  private localStore(): MemoryRateStore {
    return (this.local ??= new MemoryRateStore());
  }

  private scaled(buckets: readonly BucketSpec[]): BucketSpec[] {
    return buckets.map((b) =>
      b.kind === 'window'
        ? this.scaledWindow(b)
        : {
            ...b,
            ratePerSec: b.ratePerSec / this.divisor,
            burst: Math.max(1, Math.floor(b.burst / this.divisor)),
          },
    );
  }

  private scaledWindow(b: WindowBucket): WindowBucket {
    return { ...b, limit: Math.max(1, Math.floor(b.limit / this.divisor)) };
  }

  private remember(buckets: readonly BucketSpec[]): void {
    const at = this.now();
    for (const b of buckets) {
      if (b.kind !== 'window') continue;
      const span = b.windowMs + b.marginMs;
      this.longestWindowMs = Math.max(this.longestWindowMs, span);
      let entry = this.own.get(b.key);
      if (!entry) this.own.set(b.key, (entry = { bucket: b, times: [] }));
      entry.bucket = b;
      entry.times.push(at);
      while ((entry.times[0] ?? at) <= at - span) entry.times.shift();
    }
  }

  /** The local share starts with the calls this instance made in the window already. */
  private seedOwnCalls(local: MemoryRateStore): void {
    const at = this.now();
    for (const { bucket, times } of this.own.values()) {
      const used = times.filter((t) => t > at - bucket.windowMs - bucket.marginMs).length;
      if (used === 0) continue;
      const scaled = this.scaledWindow(bucket);
      void local.observe(scaled, { limit: scaled.limit, used }, undefined);
    }
  }

  private async refreshInstances(): Promise<void> {
    if (this.current !== 'shared' || !this.opts.countInstances) return;
    try {
      this.knownInstances = await this.shared(() => this.opts.countInstances?.() ?? Promise.resolve(0));
    } catch {
      // Counted again next time; the configured floor holds meanwhile.
    }
  }
}
