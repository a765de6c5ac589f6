import type { Logger } from 'pino';
import { describeError } from '../errors';
import { isStorageUnavailable } from './storage-unavailable';

export interface WaitForStorageOptions {
  /** Give up after this long (STORAGE_CONNECT_TIMEOUT_MS); 0 tries once. */
  timeoutMs: number;
  /** What is waited for, in the log (e.g. "PostgreSQL at db.internal:5432"). */
  what: string;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Backoff between tries: doubles from `baseMs` up to `maxMs`. */
  backoff?: { baseMs: number; maxMs: number };
}

/**
 * Opens storage, waiting for a database that cannot be reached yet (it starts after the app, or
 * restarts): tries again with backoff while the error says "unavailable", logging what it waits
 * for, until `timeoutMs` has passed; then the last error is thrown. Any other error (a wrong
 * master key, a failed migration) is thrown at once.
 */
export async function waitForStorage<T>(open: () => Promise<T>, opts: WaitForStorageOptions): Promise<T> {
  const { baseMs, maxMs } = opts.backoff ?? { baseMs: 250, maxMs: 5_000 };
  const giveUpAt = Date.now() + opts.timeoutMs;
  let wait = baseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const opened = await open();
      if (attempt > 1) opts.logger.info({ attempts: attempt }, `${opts.what} answered; storage open`);
      return opened;
    } catch (err) {
      const left = giveUpAt - Date.now();
      if (!isStorageUnavailable(err) || left <= 0) throw err;
      if (attempt === 1 || attempt % 10 === 0)
        opts.logger.warn(
          { err: describeError(err), attempts: attempt, giveUpInMs: left },
          `waiting for ${opts.what} (STORAGE_CONNECT_TIMEOUT_MS)`,
        );
      await new Promise((r) => setTimeout(r, Math.min(wait, left)));
      wait = Math.min(wait * 2, maxMs);
    }
  }
}

/** Where a database URL points, without its credentials. */
export function describeDatabase(kind: string, url: string | undefined): string {
  if (kind !== 'postgres' || !url || !URL.canParse(url)) return kind === 'sqlite' ? 'SQLite' : kind;
  const { hostname, port, pathname } = new URL(url);
  return `PostgreSQL at ${hostname}:${port || '5432'}${pathname}`;
}
