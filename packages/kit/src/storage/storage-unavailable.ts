/**
 * Whether an error says the database cannot be used right now (weather), rather than that the
 * operation itself is wrong: the server restarted or is unreachable, the connection dropped, the
 * disk is full, or storage was closed by a shutdown. Work that fails so is retried once storage
 * is back, never counted against a handler or dead-lettered. Follows `cause` chains (a handler's
 * error wraps what its store call threw).
 */
export function isStorageUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (matches(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** PostgreSQL SQLSTATE classes and codes: connection exceptions, shutdown, no room, read-only. */
const PG_CLASSES = ['08', '53', '57P'];
const PG_CODES = new Set(['25006']);
/** Node's socket errors on the way to the server. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** SQLite: the disk is full or failing, or the file is locked by another writer. */
const SQLITE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY)/;
const MESSAGES = [
  /Connection terminated/i,
  /connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /Cannot use a pool after calling end/i,
  /The database connection is not open/i,
  /KeyRing\.open\(\) was not awaited, or the keys were destroyed/,
];

function matches(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || SQLITE_CODES.test(code) || PG_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && PG_CLASSES.some((c) => code.startsWith(c))) return true;
  }
  const message = (e as { message?: unknown }).message;
  return typeof message === 'string' && MESSAGES.some((m) => m.test(message));
}
