import { openCheckpointer, type Checkpointer } from './sqlite-checkpointer';

/**
 * Keeps SQLite's WAL short from a worker thread, so no checkpoint (page copies and two fsyncs)
 * runs inside a COMMIT on the event loop (the connection sets `wal_autocheckpoint = 0`).
 *
 * After commits, the worker copies frames without blocking anyone (PASSIVE). A writer that
 * never pauses would keep it from ever catching up, and only a caught-up WAL is rewritten from
 * the start; so once the WAL holds `maxFrames` or more, one more PASSIVE runs while the
 * connection's transactions are held back (`exclusive`; they queue, the event loop goes on).
 * It copies only what arrived since, and the next transaction restarts the WAL.
 */
export class BackgroundCheckpoints {
  private checkpointer: Checkpointer | undefined;
  private dirty = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly file: string,
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
    private readonly maxFrames = 1_000,
    private readonly pauseMs = 100,
  ) {}

  /** A transaction committed: the WAL grew. */
  committed(): void {
    this.dirty = true;
    if (!this.running && !this.closed) this.running = this.run().finally(() => (this.running = undefined));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
    await this.checkpointer?.close();
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        const checkpointer = (this.checkpointer ??= openCheckpointer(this.file));
        const { frames } = await checkpointer.passive();
        if (frames >= this.maxFrames && !this.closed) await this.exclusive(() => checkpointer.passive());
      } catch {
        // Best effort: the next commit tries again; erasure's `purge` insists on its own.
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pauseMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
