/**
 * The wait before retry `attempt` (1-based): `baseMs * 2^(attempt-1)` capped at `maxMs`, half
 * of it fixed and half random, so a herd of retries spreads out instead of arriving together.
 */
export function jitteredBackoff(attempt: number, retry: { baseMs: number; maxMs: number }): number {
  const capped = Math.min(retry.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), retry.maxMs);
  return capped / 2 + Math.random() * (capped / 2);
}
