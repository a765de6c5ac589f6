/**
 * Capped exponential backoff with full jitter: attempt n waits a uniform random time in
 * [0, min(max, base * 2^n)], so many instances that lost ClickDesk together do not return
 * together.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
