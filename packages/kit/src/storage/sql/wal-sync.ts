import { open, stat, type FileHandle } from 'node:fs/promises';
import { CodedError } from '../../errors';

/** Makes what is written to the open file durable (default: `fdatasync`, on libuv's thread pool). */
export type SyncFile = (file: FileHandle) => Promise<void>;

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group fsync of SQLite's `-wal` file, off the event loop. The database runs WAL with
 * `synchronous = NORMAL`, so a COMMIT only write()s its frames to the WAL; each commit then
 * takes a sequence number (`committed`), and its callers wait (`durable`) for an `fdatasync` of
 * the WAL that *started after* that commit returned. One sync is in flight at a time and covers
 * every commit that returned before it started, so a burst of commits costs one or two syncs.
 *
 * Why this is as durable as `synchronous = FULL` (checked against SQLite's wal.c / pager.c):
 * - NORMAL in WAL mode drops only the sync at commit (WAL_SYNC_FLAGS); checkpoints still sync
 *   the WAL before copying frames and the database file after (CKPT_SYNC_FLAGS), and the WAL
 *   header is synced when the log restarts, so the file is never ahead of what it claims.
 * - Frames reach the WAL with pwrite() on the connection's descriptor; an fdatasync of any
 *   descriptor of the same inode flushes them (file size included).
 * - The WAL keeps its inode while this connection is open: a restart rewrites it from the start,
 *   `wal_checkpoint(TRUNCATE)` and `journal_size_limit` ftruncate() it; only the last connection
 *   to close deletes it, after a complete checkpoint. Each sync still compares the path's inode
 *   with the open descriptor's and reopens the file if they differ.
 * A failed sync leaves the pages' state unknown (Linux may drop them): every waiter is rejected
 * and the database refuses work from then on (`failure`), so nothing unsynced is acknowledged.
 */
export class WalSync {
  private committedSeq = 0;
  private syncedSeq = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private file: { handle: FileHandle; ino: number } | undefined;
  /** Set once a sync failed; the database must not be used further. */
  failure: CodedError | undefined;

  constructor(
    private readonly walPath: string,
    private readonly syncFile: SyncFile = (file) => file.datasync(),
  ) {}

  /** The number of the latest commit. */
  get latest(): number {
    return this.committedSeq;
  }

  /**
   * A COMMIT (or ROLLBACK) just returned: its frames are written, not yet synced. Returns its
   * number; a waiter on it is served by the next sync.
   */
  committed(): number {
    this.committedSeq += 1;
    this.kick();
    return this.committedSeq;
  }

  /**
   * Resolves once a sync that started after commit `seq` returned has finished (`seq` may be a
   * commit still to come: it waits for that commit first).
   */
  durable(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (seq <= this.syncedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // Waiters join in increasing order of seq (commits are numbered as they end).
      this.waiters.push({ seq, resolve, reject });
      this.kick();
    });
  }

  async close(): Promise<void> {
    await this.durable(this.committedSeq).catch(() => undefined);
    await this.file?.handle.close();
    this.file = undefined;
  }

  private kick(): void {
    if (!this.running && this.ready()) void this.run();
  }

  /** A waiter's commit has returned: a sync started now serves it. */
  private ready(): boolean {
    const first = this.waiters[0];
    return first !== undefined && first.seq <= this.committedSeq;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.ready()) {
        const covered = this.committedSeq;
        await this.syncOnce();
        this.syncedSeq = covered;
        let done = 0;
        while (done < this.waiters.length && this.waiters[done]!.seq <= covered) done++;
        for (const w of this.waiters.splice(0, done)) w.resolve();
      }
    } catch (err) {
      this.failure = new CodedError(
        'STORAGE_SYNC_FAILED',
        'fsync of the SQLite WAL failed; restart the app',
        {
          cause: err,
        },
      );
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
    } finally {
      this.running = false;
    }
  }

  private async syncOnce(): Promise<void> {
    const { ino } = await stat(this.walPath);
    if (this.file && this.file.ino !== ino) {
      await this.file.handle.close();
      this.file = undefined;
    }
    if (!this.file) {
      const handle = await open(this.walPath, 'r+');
      this.file = { handle, ino: (await handle.stat()).ino };
    }
    await this.syncFile(this.file.handle);
  }
}
