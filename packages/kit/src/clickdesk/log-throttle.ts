/**
 * At most one log line per `intervalMs`: the first occurrence is logged at once, later ones
 * within the interval are only counted, and the next line says how many were left out.
 */
export class LogThrottle {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `log` with the number of occurrences left out since the last line, or counts this one. */
  run(log: (suppressed: number) => void): void {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.lastAt = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    log(suppressed);
  }
}
