import type { BucketSpec, WindowBucket } from './bucket-spec';

/** A call let go: `id` names it in every bucket, `at` is when, on the store's clock. */
export interface Ticket {
  id: string;
  at: number;
}

/** Refused: how long until every bucket has room, and which buckets are full now. */
export type Acquire = { ok: true; ticket: Ticket } | { ok: false; waitMs: number; full: string[] };

/** What the server said about a window in its X-RateLimit-* headers. */
export interface ServerView {
  limit: number;
  used: number;
}

/** The limit a window now plans with, and whether this observation changed it. */
export interface LimitChange {
  previous: number;
  limit: number;
  change: 'raised' | 'lowered' | undefined;
}

/**
 * Where the governor counts calls. In memory for one instance; in Redis so that every
 * instance of the app draws on one budget and learns the server's limits at once.
 * `tryAcquire` is atomic over all the buckets it is given: either every one has room and all
 * record the call, or none does.
 */
export interface RateStore {
  tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire>;
  /** The call's answer is in: it arrived by now, so it counts from now (see bucket-spec.ts). */
  settle(buckets: readonly BucketSpec[], ticket: Ticket): Promise<void>;
  /**
   * The server's limit and count for a window. A lower limit is adopted at once; a higher one
   * only from a call let go after the current limit was learned (`sentAt`), so a stale answer
   * cannot undo a newer lowering. The count is made up with phantom calls up to what it says.
   */
  observe(bucket: WindowBucket, server: ServerView, sentAt: number | undefined): Promise<LimitChange>;
  /** Calls counted in the window now and the limit it plans with (for metrics). */
  usage(bucket: WindowBucket): Promise<{ used: number; limit: number }>;
  close(): Promise<void>;
}
