import { Worker } from 'node:worker_threads';

/**
 * A worker thread with its own connection to the database, so the event loop never waits on a
 * checkpoint. `passive()` copies what it can without blocking anyone; `truncate()` succeeds only
 * when every frame is in the database file and no reader still uses the WAL, and then empties
 * the file; `vacuum()` rebuilds the whole database file. It waits at most `busyMs` for a lock,
 * and reports failure rather than blocking longer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = ' + workerData.busyMs);
parentPort.on('message', (mode) => {
  if (mode === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    if (mode === 'VACUUM') {
      db.exec('VACUUM');
      parentPort.postMessage({ busy: 0, frames: 0, reason: '' });
      return;
    }
    const r = db.pragma('wal_checkpoint(' + mode + ')')[0];
    parentPort.postMessage({ busy: r.busy, frames: r.log, reason: r.busy ? 'a reader or writer still uses the WAL' : '' });
  } catch (err) {
    parentPort.postMessage({ busy: 1, frames: -1, reason: String((err && err.message) || err) });
  }
});
`;

/** `frames`: how many frames the WAL held when the checkpoint ran (-1 when it failed). */
export interface CheckpointOutcome {
  done: boolean;
  reason: string;
  frames: number;
}

export interface Checkpointer {
  passive(): Promise<CheckpointOutcome>;
  truncate(): Promise<CheckpointOutcome>;
  /** Rebuilds the database into fresh pages (`VACUUM`): no page keeps slack bytes of deleted rows. */
  vacuum(): Promise<CheckpointOutcome>;
  close(): Promise<void>;
}

export function openCheckpointer(file: string, busyMs = 50): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, busyMs, driver: require.resolve('better-sqlite3') },
  });
  let failure: Error | undefined;
  worker.on('error', (err) => {
    failure = err;
  });
  const ask = (mode: 'PASSIVE' | 'TRUNCATE' | 'VACUUM') =>
    new Promise<CheckpointOutcome>((resolve, reject) => {
      if (failure) return reject(failure);
      const onExit = () => reject(failure ?? new Error('checkpoint thread exited'));
      worker.once('exit', onExit);
      worker.once('message', (m: { busy: number; frames: number; reason: string }) => {
        worker.off('exit', onExit);
        resolve({ done: m.busy === 0, reason: m.reason, frames: m.frames });
      });
      worker.postMessage(mode);
    });
  return {
    passive: () => ask('PASSIVE'),
    truncate: () => ask('TRUNCATE'),
    vacuum: () => ask('VACUUM'),
    close: async () => {
      worker.postMessage('close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 1_000);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
