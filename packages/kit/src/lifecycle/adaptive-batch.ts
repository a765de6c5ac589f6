/**
 * Sizes the batches of a long deletion by how long they take, so that each holds the event loop
 * for about `targetMs` (better-sqlite3 runs a transaction synchronously on the app's thread, and
 * with `secure_delete` a row's cost depends on the machine's load): after each batch, the size
 * becomes what the measured rate fits into the target — at once when a batch overran, at most
 * doubling when there was room — within `[min, max]`.
 */
export class AdaptiveBatch {
  private current: number;
  private readonly min: number;

  constructor(private readonly opts: { targetMs: number; max: number; min?: number; initial?: number }) {
    this.min = Math.min(opts.min ?? 20, opts.max);
    this.current = clamp(opts.initial ?? 100, this.min, opts.max);
  }

  /** Rows to delete in the next batch. */
  get size(): number {
    return this.current;
  }

  /** A batch of `rows` took `ms` (its transaction, commit included). */
  observe(rows: number, ms: number): void {
    if (rows <= 0) return;
    const fits = Math.floor((rows / Math.max(ms, 0.01)) * this.opts.targetMs);
    this.current = clamp(Math.min(fits, this.current * 2), this.min, this.opts.max);
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, n));
}
