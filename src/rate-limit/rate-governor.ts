import type { Logger } from 'pino';
import { CodedError, isCodedError } from '../errors';
import { bucketsFor, type BucketSpec, type RateLimits } from './bucket-spec';
import type { RateStore } from './rate-store';

export type Priority = 'reply' | 'background';
export const PRIORITIES: readonly Priority[] = ['reply', 'background'];

export interface GovernedCall {
  method: string;
  /** Whose budget: `team:T…` or `app:A…`. */
  scope: string;
  conversationId?: string;
  priority: Priority;
}

export interface GovernorObserver {
  waited?(method: string, priority: Priority, seconds: number): void;
  refused?(method: string, reason: 'queue_full' | 'deadline'): void;
  ratelimited?(method: string): void;
}

export interface RateGovernorOptions {
  limits: RateLimits;
  store: RateStore;
  /** Calls of one method that may wait at once; beyond it calls are refused at once. */
  maxQueuePerMethod: number;
  /** How long a call may wait for capacity before it is refused, by priority. */
  deadlineMs: Record<Priority, number>;
  /** Retries after a 429 that still happened (each after its Retry-After). */
  maxRetries?: number;
  logger: Logger;
  observer?: GovernorObserver;
}

interface Waiter {
  call: GovernedCall;
  buckets: BucketSpec[];
  enqueuedAt: number;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (err: Error) => void;
  done: boolean;
}

/**
 * Terms 4.9: never attempt to exceed ClickDesk's limits. Every Web API call waits here until
 * all the buckets it counts against have room (sliding windows per method, a token bucket per
 * conversation for posts), bot replies ahead of background work. Queues are bounded and waits
 * have deadlines, so overload is refused with a clear error instead of growing memory.
 */
export class RateGovernor {
  private readonly queues: Record<Priority, Waiter[]> = { reply: [], background: [] };
  private readonly queuedByMethod = new Map<string, number>();
  private readonly pausedUntil = new Map<string, number>();
  private readonly serverLimits = new Map<string, number>();
  private readonly windows = new Map<string, Extract<BucketSpec, { kind: 'window' }>>();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(private readonly opts: RateGovernorOptions) {}

  /** Runs `send` once the call's buckets have room; after a 429, pauses the bucket and retries. */
  async run<T>(call: GovernedCall, send: () => Promise<T>): Promise<T> {
    const maxRetries = this.opts.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      await this.acquire(call);
      try {
        return await send();
      } catch (err) {
        if (!isCodedError(err, 'CLICKDESK_RATE_LIMITED') || attempt >= maxRetries) throw err;
        const retryAfter = (err as CodedError & { retryAfterSeconds?: number }).retryAfterSeconds ?? 1;
        this.opts.observer?.ratelimited?.(call.method);
        this.opts.logger.warn(
          { method: call.method, retryAfter },
          'ClickDesk answered 429; pausing this bucket',
        );
        const until = Date.now() + retryAfter * 1000;
        for (const b of this.bucketsOf(call))
          this.pausedUntil.set(b.key, Math.max(until, this.pausedUntil.get(b.key) ?? 0));
      }
    }
  }

  /** Takes the server's view of a bucket (X-RateLimit-* headers) into account. */
  async observeHeaders(call: Pick<GovernedCall, 'method' | 'scope'>, headers: Headers): Promise<void> {
    const limit = Number(headers.get('x-ratelimit-limit'));
    const remaining = Number(headers.get('x-ratelimit-remaining'));
    if (!Number.isInteger(limit) || !Number.isInteger(remaining) || limit <= 0) return;
    const configured = this.opts.limits.perMethod[call.method];
    if (configured !== undefined && limit < configured && this.serverLimits.get(call.method) !== limit) {
      this.serverLimits.set(call.method, limit);
      this.opts.logger.warn(
        { method: call.method, configured, server: limit },
        'ClickDesk reports a lower limit; using it',
      );
    }
    const window = this.bucketsOf(call).find((b) => b.kind === 'window');
    if (window?.kind === 'window') await this.opts.store.reconcile(window, limit - remaining);
  }

  /** Per method: limit, window, calls counted now and calls waiting, for metrics. */
  async snapshot(): Promise<
    Array<{ method: string; limit: number; windowSeconds: number; used: number; queued: number }>
  > {
    const byMethod = new Map<
      string,
      { method: string; limit: number; windowSeconds: number; used: number; queued: number }
    >();
    for (const w of this.windows.values()) {
      const used = await this.opts.store.used(w);
      const current = byMethod.get(w.method);
      if (!current || used / w.limit > current.used / current.limit) {
        byMethod.set(w.method, {
          method: w.method,
          limit: w.limit,
          windowSeconds: w.windowMs / 1000,
          used,
          queued: 0,
        });
      }
    }
    for (const [method, queued] of this.queuedByMethod) {
      const entry = byMethod.get(method);
      if (entry) entry.queued = queued;
    }
    return [...byMethod.values()];
  }

  get queueLength(): number {
    return this.queues.reply.length + this.queues.background.length;
  }

  /** Refuses every waiting call (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const p of PRIORITIES)
      for (const w of this.queues[p].splice(0))
        this.finish(w, new CodedError('RATE_QUEUE_CLOSED', 'the rate governor is shutting down'));
  }

  private bucketsOf(call: Pick<GovernedCall, 'method' | 'scope' | 'conversationId'>): BucketSpec[] {
    const limits = {
      ...this.opts.limits,
      perMethod: { ...this.opts.limits.perMethod, ...Object.fromEntries(this.serverLimits) },
    };
    const buckets = bucketsFor(limits, call);
    for (const b of buckets) if (b.kind === 'window') this.windows.set(b.key, b);
    return buckets;
  }

  private acquire(call: GovernedCall): Promise<void> {
    if (this.closed)
      return Promise.reject(new CodedError('RATE_QUEUE_CLOSED', 'the rate governor is shutting down'));
    const buckets = this.bucketsOf(call);
    if (buckets.length === 0) return Promise.resolve();
    const queued = this.queuedByMethod.get(call.method) ?? 0;
    if (queued >= this.opts.maxQueuePerMethod) {
      this.opts.observer?.refused?.(call.method, 'queue_full');
      return Promise.reject(
        new CodedError(
          'RATE_QUEUE_FULL',
          `${queued} ${call.method} calls already wait for rate-limit capacity; refusing more (RATE_MAX_QUEUE)`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        call,
        buckets,
        enqueuedAt: Date.now(),
        resolve,
        reject,
        done: false,
        timer: setTimeout(() => {
          this.opts.observer?.refused?.(call.method, 'deadline');
          this.finish(
            waiter,
            new CodedError(
              'RATE_DEADLINE',
              `${call.method} waited ${this.opts.deadlineMs[call.priority]} ms for rate-limit capacity; giving up`,
            ),
          );
        }, this.opts.deadlineMs[call.priority]),
      };
      this.queues[call.priority].push(waiter);
      this.queuedByMethod.set(call.method, queued + 1);
      void this.pump();
    });
  }

  private finish(w: Waiter, err?: Error): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    const queue = this.queues[w.call.priority];
    const i = queue.indexOf(w);
    if (i >= 0) queue.splice(i, 1);
    this.queuedByMethod.set(w.call.method, (this.queuedByMethod.get(w.call.method) ?? 1) - 1);
    if (err) w.reject(err);
    else {
      this.opts.observer?.waited?.(w.call.method, w.call.priority, (Date.now() - w.enqueuedAt) / 1000);
      w.resolve();
    }
  }

  /** Lets through every waiter whose buckets all have room, reply calls first; sleeps until the next may. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    clearTimeout(this.timer);
    let nextWait = Number.POSITIVE_INFINITY;
    try {
      do {
        this.pumpAgain = false;
        nextWait = Number.POSITIVE_INFINITY;
        const full = new Set<string>();
        const now = Date.now();
        for (const priority of PRIORITIES) {
          for (const w of [...this.queues[priority]]) {
            if (w.done || w.buckets.some((b) => full.has(b.key))) continue;
            const paused = Math.max(0, ...w.buckets.map((b) => (this.pausedUntil.get(b.key) ?? 0) - now));
            if (paused > 0) {
              nextWait = Math.min(nextWait, paused);
              for (const b of w.buckets) full.add(b.key);
              continue;
            }
            let result;
            try {
              result = await this.opts.store.tryAcquire(w.buckets);
            } catch (err) {
              this.opts.logger.error({ err: (err as Error).message }, 'rate store unavailable; calls wait');
              nextWait = Math.min(nextWait, 500);
              break;
            }
            if (result.ok) this.finish(w);
            else {
              nextWait = Math.min(nextWait, result.waitMs);
              for (const key of result.full) full.add(key);
            }
          }
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    if (this.queueLength > 0 && Number.isFinite(nextWait)) {
      this.timer = setTimeout(() => void this.pump(), Math.min(Math.max(1, nextWait), 1000));
    }
  }
}
