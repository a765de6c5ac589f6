export interface RecentReadingOptions {
  /** A reading older than this is read again, in the background, when next asked for. */
  refreshMs: number;
  /** A reading older than this is never published: the scrape waits for a new one. */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * The gauges read from the database (dead letters, lifecycle jobs, Terms 6.1 confirmation age,
 * master keys) are read beside the scrape, not in it: a scrape answers from memory however many
 * rows are stored and however busy the database is, and publishes the reading the previous scrape
 * started (at most 5 minutes old; re-read at most once a second). A lag of one scrape interval is
 * within what the alerts on them tolerate: they are measured in minutes (a dead letter waiting, a
 * job pending) and hours (the 24 h of Terms 6.1, a master key's age in days).
 */
export const DATABASE_READING = { refreshMs: 1_000, maxAgeMs: 300_000 };

/**
 * Keeps a gauge's database read off the scrape path. The first call waits for a reading; later
 * calls get the latest one at once and, when it is older than `refreshMs`, start the next read in
 * the background (one at a time; a failed read keeps the last reading and is tried again at the
 * next call). A reading older than `maxAgeMs` (scrapes stopped for a while) is not published: that
 * call waits for a new one, and fails as the read fails.
 *
 * What a scrape publishes is therefore the reading taken at the previous scrape (one scrape
 * interval old) or newer, never older than `maxAgeMs`.
 */
export function recentReading<T>(read: () => Promise<T>, opts: RecentReadingOptions): () => Promise<T> {
  const now = opts.now ?? Date.now;
  let latest: { value: T; at: number } | undefined;
  let pending: Promise<T> | undefined;
  const refresh = (): Promise<T> => {
    if (pending) return pending;
    const at = now();
    const p = read()
      .then((value) => {
        if (!latest || latest.at <= at) latest = { value, at };
        return value;
      })
      .finally(() => {
        if (pending === p) pending = undefined;
      });
    pending = p;
    return p;
  };
  return () => {
    const age = latest ? now() - latest.at : Infinity;
    if (!latest || age > opts.maxAgeMs) return refresh();
    if (age > opts.refreshMs) refresh().catch(() => undefined);
    return Promise.resolve(latest.value);
  };
}
