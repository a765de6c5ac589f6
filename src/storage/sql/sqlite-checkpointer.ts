import { Worker } from 'node:worker_threads';
import type { PurgeOptions } from './sql-database';

/**
 * The checkpoint loop, run in a worker thread on a connection of its own, so the event loop
 * never waits on it. Each attempt copies what it can without blocking writers (PASSIVE), then
 * asks for TRUNCATE with no busy wait: that succeeds only when every frame is in the database
 * file and no reader still uses the WAL, and then empties the file. A reader holding an old
 * snapshot makes it fail; the loop retries with backoff (up to 1 s apart) until it succeeds.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const pause = new Int32Array(new SharedArrayBuffer(4));
let attempt = 0;
let wait = 10;
for (;;) {
  attempt += 1;
  let result;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    result = db.pragma('wal_checkpoint(TRUNCATE)')[0];
  } catch (err) {
    result = { busy: 1, log: -1, checkpointed: -1, error: String(err && err.message) };
  }
  if (result.busy === 0) {
    parentPort.postMessage({ done: true, attempt });
    break;
  }
  parentPort.postMessage({ done: false, attempt, reason: result.error || 'a reader or writer still uses the WAL' });
  if (attempt >= workerData.maxAttempts) break;
  Atomics.wait(pause, 0, 0, wait);
  wait = Math.min(wait * 2, 1000);
}
db.close();
`;

/**
 * Resolves with the number of attempts once `wal_checkpoint(TRUNCATE)` succeeded on `file`;
 * rejects after `maxAttempts` failed ones (default: never gives up).
 */
export function checkpointOffThread(
  file: string,
  options: PurgeOptions & { maxAttempts?: number } = {},
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file,
        driver: require.resolve('better-sqlite3'),
        maxAttempts: options.maxAttempts ?? Number.MAX_SAFE_INTEGER,
      },
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      void worker.terminate();
      finish(() => reject(new Error('checkpoint abandoned (stopping)')));
    };
    if (options.signal?.aborted) return abort();
    options.signal?.addEventListener('abort', abort);
    worker.on('message', (m: { done: boolean; attempt: number; reason?: string }) => {
      if (m.done) finish(() => resolve(m.attempt));
      else void Promise.resolve(options.onRetry?.(m.attempt, m.reason ?? '')).catch(() => undefined);
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`checkpoint thread exited (${code}) before the WAL was emptied`))),
    );
  });
}
