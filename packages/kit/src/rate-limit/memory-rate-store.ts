import { performance } from 'node:perf_hooks';
import type { BucketSpec, TokenBucket, WindowBucket } from './bucket-spec';
import type { Acquire, LimitChange, RateStore, ServerView, Ticket } from './rate-store';

interface Log {
  /** Times of answered calls (and of calls the server reported), ascending. */
  times: number[];
  /** Calls let go and not answered yet: ticket id → in-flight bound, in the order they left. */
  inFlight: Map<string, number>;
}
interface Cell {
  /** GCRA theoretical arrival time of the next call. */
  tat: number;
  busy: string | undefined;
  busyUntil: number;
}

/** A monotonic millisecond clock: a wall-clock step cannot empty a window early. */
const monotonicNow = (): number => performance.timeOrigin + performance.now();

/** While another call to the conversation is in flight, look again this soon. */
const BUSY_POLL_MS = 25;

/** The governor's counts in process memory: one instance's budget. */
export class MemoryRateStore implements RateStore {
  private readonly windows = new Map<string, Log>();
  private readonly cells = new Map<string, Cell>();
  private readonly limits = new Map<string, { limit: number; at: number }>();
  private sequence = 0;
  /** When this store (this process's memory of its calls) began. */
  private readonly startedAt: number;

  /**
   * `freshStart`: ClickDesk's side began with this process (the in-process simulator of sandbox
   * mode and of the test kit), so nothing can have spent a bucket before; see `restartFloor`.
   */
  constructor(
    private readonly now: () => number = monotonicNow,
    private readonly options: { freshStart?: boolean } = {},
  ) {
    this.startedAt = now();
  }

  tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire> {
    const now = this.now();
    let wait = 0;
    const full: string[] = [];
    for (const b of buckets) {
      const w = b.kind === 'window' ? this.windowWait(b, now) : this.cellWait(b, now);
      if (w > 0) full.push(b.key);
      wait = Math.max(wait, w);
    }
    if (wait > 0) return Promise.resolve({ ok: false, waitMs: Math.ceil(wait), full });
    const ticket: Ticket = { id: String(++this.sequence), at: now };
    for (const b of buckets) {
      if (b.kind === 'window') this.log(b, now).inFlight.set(ticket.id, now + b.inFlightMs);
      else {
        const c = this.cell(b, now);
        c.tat = Math.max(now, c.tat) + 1000 / b.ratePerSec;
        c.busy = ticket.id;
        c.busyUntil = now + b.inFlightMs;
      }
    }
    return Promise.resolve({ ok: true, ticket });
  }

  settle(buckets: readonly BucketSpec[], ticket: Ticket): Promise<void> {
    const now = this.now();
    for (const b of buckets) {
      if (b.kind === 'window') {
        const log = this.windows.get(b.key);
        if (log?.inFlight.delete(ticket.id)) insert(log.times, now);
      } else {
        const c = this.cells.get(b.key);
        if (c?.busy === ticket.id) {
          c.tat = Math.max(c.tat, now + 1000 / b.ratePerSec);
          c.busy = undefined;
        }
      }
    }
    return Promise.resolve();
  }

  observe(bucket: WindowBucket, server: ServerView, sentAt: number | undefined): Promise<LimitChange> {
    const now = this.now();
    const known = this.limits.get(bucket.key);
    const previous = known?.limit ?? bucket.limit;
    let change: LimitChange['change'];
    if (server.limit < previous) change = 'lowered';
    else if (server.limit > previous && sentAt !== undefined && sentAt >= (known?.at ?? 0)) change = 'raised';
    if (change) this.limits.set(bucket.key, { limit: server.limit, at: now });
    const limit = change ? server.limit : previous;
    const log = this.log(bucket, now);
    const want = Math.min(server.used, limit);
    for (let i = count(log); i < want; i++) insert(log.times, now);
    return Promise.resolve({ previous, limit, change });
  }

  usage(bucket: WindowBucket): Promise<{ used: number; limit: number }> {
    return Promise.resolve({ used: count(this.log(bucket, this.now())), limit: this.limitOf(bucket) });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private limitOf(b: WindowBucket): number {
    return this.limits.get(b.key)?.limit ?? b.limit;
  }

  private windowWait(b: WindowBucket, now: number): number {
    const log = this.log(b, now);
    const limit = b.share === undefined ? this.limitOf(b) : Math.floor(this.limitOf(b) * b.share);
    const n = count(log);
    if (n < limit) return 0;
    // The call whose leaving the window makes room: answered ones first, then those in flight.
    const k = n - limit;
    const at = k < log.times.length ? log.times[k] : [...log.inFlight.values()][k - log.times.length];
    return (at ?? now) + b.windowMs + b.marginMs - now;
  }

  private cellWait(b: TokenBucket, now: number): number {
    const c = this.cell(b, now);
    if (c.busy !== undefined) return Math.min(BUSY_POLL_MS, c.busyUntil - now);
    const tolerance = ((b.burst - 1) * 1000) / b.ratePerSec;
    return Math.max(0, c.tat - tolerance - now);
  }

  /** The window's calls, pruned to those that still count. */
  private log(b: WindowBucket, now: number): Log {
    let log = this.windows.get(b.key);
    if (!log) {
      log = { times: [], inFlight: new Map() };
      this.windows.set(b.key, log);
    }
    const oldest = now - b.windowMs - b.marginMs;
    let drop = 0;
    while (drop < log.times.length && (log.times[drop] ?? 0) <= oldest) drop++;
    if (drop > 0) log.times.splice(0, drop);
    for (const [id, bound] of log.inFlight) {
      // Never answered (its sender crashed) and past its bound plus the window: it no longer counts.
      if (bound > oldest) break;
      log.inFlight.delete(id);
    }
    return log;
  }

  /**
   * A process that restarted (a crash, a deploy) forgets its last calls, but ClickDesk does not:
   * the previous process may have emptied a conversation's bucket just before this one started.
   * So a cell first seen within a burst's refill time of the start begins empty at the start and
   * refills at the steady rate from there (Terms 4.9: recovery must not draw a 429). A cell first
   * seen later starts full: ClickDesk's bucket has refilled by then, whatever came before.
   */
  private restartFloor(b: TokenBucket): number {
    if (this.options.freshStart === true) return this.startedAt;
    return this.startedAt + (b.burst * 1000) / b.ratePerSec;
  }

  private cell(b: TokenBucket, now: number): Cell {
    const c = this.cells.get(b.key) ?? {
      tat: Math.max(now, this.restartFloor(b)),
      busy: undefined,
      busyUntil: 0,
    };
    if (c.busy !== undefined && now >= c.busyUntil) {
      // Its sender never settled (crashed): count it as arrived at the in-flight bound.
      c.tat = Math.max(c.tat, c.busyUntil + 1000 / b.ratePerSec);
      c.busy = undefined;
    }
    this.cells.delete(b.key);
    this.cells.set(b.key, c);
    if (this.cells.size > 10_000) {
      // A cell whose next call is already due and that is idle carries no information.
      const [key, oldest] = this.cells.entries().next().value ?? [];
      if (key !== undefined && oldest && oldest.busy === undefined && oldest.tat <= now)
        this.cells.delete(key);
    }
    return c;
  }
}

const count = (log: Log): number => log.times.length + log.inFlight.size;

/** Keeps `times` ascending; new times are nearly always the latest, so look from the end. */
function insert(times: number[], at: number): void {
  let i = times.length;
  while (i > 0 && (times[i - 1] ?? 0) > at) i--;
  if (i === times.length) times.push(at);
  else times.splice(i, 0, at);
}
