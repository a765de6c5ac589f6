import type { BucketSpec } from './bucket-spec';

/** Refused: how long until every bucket has room, and which buckets are full now. */
export type Acquire = { ok: true } | { ok: false; waitMs: number; full: string[] };

/**
 * Where the governor counts calls. In memory for one instance; in Redis so that every
 * instance of the app draws on one budget. `tryAcquire` is atomic over all the buckets
 * it is given: either every one has room and all record the call, or none does.
 */
export interface RateStore {
  tryAcquire(buckets: readonly BucketSpec[]): Promise<Acquire>;
  /** Calls counted in the window now (for utilisation metrics). */
  used(bucket: Extract<BucketSpec, { kind: 'window' }>): Promise<number>;
  /** The server says `serverUsed` calls count in the window: record phantom calls up to it. */
  reconcile(bucket: Extract<BucketSpec, { kind: 'window' }>, serverUsed: number): Promise<void>;
  close(): Promise<void>;
}
