import { openCheckpointer, type Checkpointer } from './sqlite-checkpointer';
import { WalFrames } from './wal-frames';

export interface CheckpointPacing {
  /** A checkpoint runs once the WAL holds this many bytes of frames (default 64 MiB). */
  walBytes: number;
  /** ... or once writes pause this long (default 100 ms) ... */
  idleMs: number;
  /** ... or, with writes going on, this long after the last one (default 10 s). */
  maxIntervalMs: number;
}

const DEFAULT_PACING: CheckpointPacing = { walBytes: 64 * 1024 * 1024, idleMs: 100, maxIntervalMs: 10_000 };

/**
 * Keeps SQLite's WAL bounded from a worker thread, so no checkpoint (page copies and two fsyncs)
 * runs inside a COMMIT on the event loop (the connection sets `wal_autocheckpoint = 0`).
 *
 * Checkpoints are few and large: a checkpoint copies each page the WAL holds once, whatever the
 * number of commits that rewrote it, so a hot page (a table's last page, an index page of an
 * active conversation) written by a thousand commits is copied once, not once per 100 ms
 * (measured: most of the bytes written per event at 300,000 stored messages were checkpoint
 * copies). One runs when the WAL reaches `walBytes`, when writes pause, or at the latest
 * `maxIntervalMs` after the previous one.
 *
 * The worker copies frames without blocking anyone (PASSIVE), twice: the second pass copies what
 * arrived during the first. A writer that never pauses would keep it from ever catching up, and
 * only a caught-up WAL is rewritten from the start; so a last PASSIVE runs while the connection's
 * transactions are held back (`exclusive`; they queue, the event loop goes on). It copies only
 * what arrived since, and the next transaction restarts the WAL.
 */
export class BackgroundCheckpoints {
  private checkpointer: Checkpointer | undefined;
  private readonly wal: WalFrames;
  private readonly pacing: CheckpointPacing;
  private dirty = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly file: string,
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
    pacing: Partial<CheckpointPacing> = {},
  ) {
    this.pacing = { ...DEFAULT_PACING, ...pacing };
    this.wal = new WalFrames(file);
  }

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
    this.wal.close();
  }

  /** Runs while there are frames not yet copied: looks every `idleMs`, checkpoints when due. */
  private async run(): Promise<void> {
    let since = Date.now();
    while (!this.closed) {
      await this.pause(this.pacing.idleMs);
      if (this.closed) return;
      const idle = !this.dirty;
      this.dirty = false;
      if (idle || this.full() || Date.now() - since >= this.pacing.maxIntervalMs) {
        await this.checkpoint();
        since = Date.now();
        // Caught up with no write since: nothing left to copy until the next commit.
        if (!this.dirty) return;
      }
    }
  }

  /** The WAL holds `walBytes` or more (unknown counts as full: the previous pacing, every look). */
  private full(): boolean {
    const wal = this.wal.read();
    return !wal || wal.frames * (wal.pageSize + 24) >= this.pacing.walBytes;
  }

  private async checkpoint(): Promise<void> {
    try {
      const checkpointer = (this.checkpointer ??= openCheckpointer(this.file));
      const { frames } = await checkpointer.passive();
      if (frames === 0 || this.closed) return;
      // Each pass copies what arrived during the one before, so the held one copies little.
      await checkpointer.passive();
      if (!this.closed) await this.exclusive(() => checkpointer.passive());
    } catch {
      // Best effort: the next commit tries again; erasure's `purge` insists on its own.
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
