import type { Logger } from 'pino';
import { CodedError, isCodedError } from '../errors';
import {
  bucketsFor,
  plannedCeiling,
  windowFor,
  type BucketSpec,
  type RateLimits,
  type WindowBucket,
} from './bucket-spec';
import type { RateStore, Ticket } from './rate-store';

/**
 * `reply`: work that keeps existing teams alive (bot replies, transfers, token refresh);
 * `background`: everything else the app does by itself; `guest`: work an unauthenticated caller
 * can trigger (the code exchange of an install). Guest calls wait last, in a queue of their own,
 * and may use only the part of a method's window that the reservation leaves (`guest.share`).
 */
export type Priority = 'reply' | 'background' | 'guest';
export const PRIORITIES: readonly Priority[] = ['reply', 'background', 'guest'];

/** How much of the budget work triggered from outside may take. */
export interface GuestLimits {
  /** The part of each method's window guest calls may fill; the rest is reserved. Default 0.5. */
  share: number;
  /** Guest calls of one method that may wait at once; beyond it they are refused at once. Default 4. */
  maxQueue: number;
  /** How long a guest call may wait for capacity. Default 5 s. */
  deadlineMs: number;
}

export const DEFAULT_GUEST_LIMITS: GuestLimits = { share: 0.5, maxQueue: 4, deadlineMs: 5_000 };

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
  deadlineMs: Record<Exclude<Priority, 'guest'>, number>;
  /** What guest calls may use; see `Priority`. */
  guest?: Partial<GuestLimits>;
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
  resolve: (ticket: Ticket | undefined) => void;
  reject: (err: Error) => void;
  done: boolean;
}

/** Per method, for metrics: the limit in force, the ceiling planned under it, usage and queue. */
export interface BucketSnapshot {
  method: string;
  /** The contract's limit, or the one the server last reported in its headers. */
  limit: number;
  /** What the governor plans to use at most per window: the limit less the planning margin. */
  plannedLimit: number;
  windowSeconds: number;
  used: number;
  queued: number;
}

/**
 * Terms 4.9: never attempt to exceed ClickDesk's limits. Every Web API call waits here until
 * all the buckets it counts against have room (sliding windows per method; for posts, one call
 * at a time per conversation within its rate), bot replies ahead of background work. Each call is
 * settled when its answer is in, so the store counts it where the server can have (bucket-spec.ts).
 * Like the RTM open planner, it keeps a reserve: guest calls (triggered by anyone who can reach the
 * app) stop while only the reserved part of a window is left, so they can never starve the calls
 * that keep installed teams served (a token refresh, a reply).
 * Queues are bounded and waits have deadlines, so overload is refused with a clear error instead
 * of growing memory.
 */
export class RateGovernor {
  private readonly queues: Record<Priority, Waiter[]> = { reply: [], background: [], guest: [] };
  private readonly queuedByMethod = new Map<string, number>();
  private readonly guestsByMethod = new Map<string, number>();
  private readonly guest: GuestLimits;
  private readonly pausedUntil = new Map<string, number>();
  private readonly windows = new Map<string, WindowBucket>();
  /** Calls let go and not yet answered, by window key: ticket id → when it was let go (store clock). */
  private readonly inFlight = new Map<string, Map<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(private readonly opts: RateGovernorOptions) {
    this.guest = { ...DEFAULT_GUEST_LIMITS, ...opts.guest };
  }

  /** Runs `send` once the call's buckets have room; after a 429, pauses the bucket and retries. */
  async run<T>(call: GovernedCall, send: () => Promise<T>): Promise<T> {
    const maxRetries = this.opts.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const buckets = this.bucketsOf(call);
      if (call.priority === 'guest')
        for (const [i, b] of buckets.entries())
          if (b.kind === 'window') buckets[i] = { ...b, share: this.guest.share };
      const ticket = await this.acquire(call, buckets);
      const window = ticket ? this.track(buckets, ticket) : undefined;
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
        for (const b of buckets)
          this.pausedUntil.set(b.key, Math.max(until, this.pausedUntil.get(b.key) ?? 0));
      } finally {
        // Not awaited: the store receives it before any later call's acquire (one connection, in order).
        if (ticket) void this.settle(buckets, ticket, window);
      }
    }
  }

  /**
   * Takes the server's view of a bucket (X-RateLimit-* headers) into account: its count, and its
   * limit in both directions (contract §1: limits change either way; the header is the server's
   * word). The limit is kept in the store, so with Redis every instance plans with it at once.
   */
  async observeHeaders(call: Pick<GovernedCall, 'method' | 'scope'>, headers: Headers): Promise<void> {
    const limit = Number(headers.get('x-ratelimit-limit'));
    const remaining = Number(headers.get('x-ratelimit-remaining'));
    if (!Number.isInteger(limit) || !Number.isInteger(remaining) || limit <= 0 || remaining < 0) return;
    const window = this.windowOf(call);
    if (!window) return;
    // The answer is to one of this bucket's calls in flight; the oldest of them is when it left at the
    // earliest, so a raise is only taken from answers to calls sent after the current limit was learned.
    const sentAt: number | undefined = this.inFlight.get(window.key)?.values().next().value;
    const seen = await this.opts.store.observe(
      window,
      { limit, used: Math.max(0, limit - remaining) },
      sentAt,
    );
    if (seen.change) {
      this.opts.logger.warn(
        { method: call.method, previous: seen.previous, server: seen.limit },
        `ClickDesk reports a ${seen.change === 'raised' ? 'higher' : 'lower'} limit; using it`,
      );
      if (seen.change === 'raised') void this.pump();
    }
  }

  /**
   * Per method: limit, planned ceiling, window, calls counted now and calls waiting, for metrics.
   * Every limited method is listed from the start, before its first call.
   */
  async snapshot(): Promise<BucketSnapshot[]> {
    const byMethod = new Map<string, BucketSnapshot>();
    const seenMethods = new Set([...this.windows.values()].map((w) => w.method));
    const seenScopes = new Set([...this.windows.values()].map((w) => w.key.slice(0, -w.method.length - 1)));
    for (const [method, configured] of Object.entries(this.opts.limits.perMethod)) {
      if (seenMethods.has(method)) continue;
      // Not called here yet: the lowest limit any instance learned for it under a scope this one uses.
      let limit = configured;
      for (const scope of seenScopes) {
        const w = windowFor(this.opts.limits, { method, scope });
        if (w) limit = Math.min(limit, (await this.opts.store.usage(w)).limit);
      }
      byMethod.set(method, this.entry(method, limit, 0));
    }
    for (const w of this.windows.values()) {
      const { used, limit } = await this.opts.store.usage(w);
      const current = byMethod.get(w.method);
      if (!current || used / limit > current.used / current.limit)
        byMethod.set(w.method, this.entry(w.method, limit, used));
    }
    for (const counts of [this.queuedByMethod, this.guestsByMethod])
      for (const [method, queued] of counts) {
        const entry = byMethod.get(method);
        if (entry) entry.queued += queued;
      }
    return [...byMethod.values()];
  }

  get queueLength(): number {
    return this.queues.reply.length + this.queues.background.length + this.queues.guest.length;
  }

  /** Refuses every waiting call (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const p of PRIORITIES)
      for (const w of this.queues[p].splice(0))
        this.finish(w, new CodedError('RATE_QUEUE_CLOSED', 'the rate governor is shutting down'));
  }

  private entry(method: string, limit: number, used: number): BucketSnapshot {
    const { windowMs, marginMs } = this.opts.limits;
    return {
      method,
      limit,
      plannedLimit: plannedCeiling(limit, windowMs, marginMs),
      windowSeconds: windowMs / 1000,
      used,
      queued: 0,
    };
  }

  private windowOf(call: Pick<GovernedCall, 'method' | 'scope'>): WindowBucket | undefined {
    const window = windowFor(this.opts.limits, call);
    if (window) this.windows.set(window.key, window);
    return window;
  }

  private bucketsOf(call: Pick<GovernedCall, 'method' | 'scope' | 'conversationId'>): BucketSpec[] {
    const buckets = bucketsFor(this.opts.limits, call);
    for (const b of buckets) if (b.kind === 'window') this.windows.set(b.key, b);
    return buckets;
  }

  /** Notes a call in flight in its window; returns the window's key. */
  private track(buckets: readonly BucketSpec[], ticket: Ticket): string | undefined {
    const key = buckets.find((b) => b.kind === 'window')?.key;
    if (key === undefined) return undefined;
    let calls = this.inFlight.get(key);
    if (!calls) this.inFlight.set(key, (calls = new Map<string, number>()));
    calls.set(ticket.id, ticket.at);
    return key;
  }

  /** The call's answer is in: count it from now, and let waiters behind it look again. */
  private async settle(
    buckets: readonly BucketSpec[],
    ticket: Ticket,
    window: string | undefined,
  ): Promise<void> {
    if (window !== undefined) this.inFlight.get(window)?.delete(ticket.id);
    try {
      await this.opts.store.settle(buckets, ticket);
    } catch (err) {
      // Unsettled, the call keeps counting until its in-flight bound: later, never sooner.
      this.opts.logger.error({ err: (err as Error).message }, 'rate store unavailable; call left in flight');
    }
    if (this.queueLength > 0) void this.pump();
  }

  private acquire(call: GovernedCall, buckets: BucketSpec[]): Promise<Ticket | undefined> {
    if (this.closed)
      return Promise.reject(new CodedError('RATE_QUEUE_CLOSED', 'the rate governor is shutting down'));
    if (buckets.length === 0) return Promise.resolve(undefined);
    const counts = this.queueCounts(call.priority);
    const queued = counts.get(call.method) ?? 0;
    const max = call.priority === 'guest' ? this.guest.maxQueue : this.opts.maxQueuePerMethod;
    if (queued >= max) {
      this.opts.observer?.refused?.(call.method, 'queue_full');
      return Promise.reject(
        new CodedError(
          'RATE_QUEUE_FULL',
          `${queued} ${call.priority === 'guest' ? 'guest ' : ''}${call.method} calls already wait for rate-limit capacity; refusing more${call.priority === 'guest' ? '' : ' (RATE_MAX_QUEUE)'}`,
        ),
      );
    }
    const deadlineMs =
      call.priority === 'guest' ? this.guest.deadlineMs : this.opts.deadlineMs[call.priority];
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
              `${call.method} waited ${deadlineMs} ms for rate-limit capacity; giving up`,
            ),
          );
        }, deadlineMs),
      };
      this.queues[call.priority].push(waiter);
      counts.set(call.method, queued + 1);
      void this.pump();
    });
  }

  /** Guest calls are counted apart, so they can never fill the queue the others wait in. */
  private queueCounts(priority: Priority): Map<string, number> {
    return priority === 'guest' ? this.guestsByMethod : this.queuedByMethod;
  }

  private finish(w: Waiter, err?: Error, ticket?: Ticket): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    const queue = this.queues[w.call.priority];
    const i = queue.indexOf(w);
    if (i >= 0) queue.splice(i, 1);
    const counts = this.queueCounts(w.call.priority);
    counts.set(w.call.method, (counts.get(w.call.method) ?? 1) - 1);
    if (err) w.reject(err);
    else {
      this.opts.observer?.waited?.(w.call.method, w.call.priority, (Date.now() - w.enqueuedAt) / 1000);
      w.resolve(ticket);
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
            if (result.ok) this.finish(w, undefined, result.ticket);
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
