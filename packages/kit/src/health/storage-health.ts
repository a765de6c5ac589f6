import type { Logger } from 'pino';
import { describeError } from '../errors';

export interface StorageHealthOptions {
  /** A cheap write through the same commit path as events (see `storageProbe`). */
  probe: () => Promise<void>;
  /** How often the probe runs (default 2 s). */
  intervalMs?: number;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Storage came back after failing: work it held up can be picked up again. */
  onRecovered?: () => void;
}

export interface StorageState {
  readonly up: boolean;
  /** Why it is down (the last failure), or undefined. */
  readonly reason: string | undefined;
  /** Since when it is in this state (ms epoch). */
  readonly since: number;
}

/**
 * Whether storage can commit now. Real commits that fail because storage is unavailable mark it
 * down at once; a periodic probe write marks it up again, only once no real commit has failed
 * for a whole probe interval (a full disk lets a small write through now and then; the events
 * that cannot be recorded say the truth). Readiness and the `storage` dependency metric read it.
 */
export class StorageHealth {
  private current: StorageState = { up: true, reason: undefined, since: Date.now() };
  private lastFailureAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: StorageHealthOptions) {
    this.intervalMs = opts.intervalMs ?? 2_000;
  }

  get state(): StorageState {
    return this.current;
  }

  start(): void {
    this.timer = setInterval(() => void this.probeOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A real operation failed because storage is unavailable. */
  failed(err: unknown): void {
    this.lastFailureAt = Date.now();
    this.set(false, describeError(err).message);
  }

  /** Runs the probe once; resolves with the state after it. */
  async probeOnce(): Promise<StorageState> {
    if (this.probing) return this.current;
    this.probing = true;
    try {
      await this.opts.probe();
      if (Date.now() - this.lastFailureAt >= this.intervalMs) this.set(true, undefined);
    } catch (err) {
      this.lastFailureAt = Date.now();
      this.set(false, describeError(err).message);
    } finally {
      this.probing = false;
    }
    return this.current;
  }

  private set(up: boolean, reason: string | undefined): void {
    const was = this.current.up;
    if (up === was && (up || reason === this.current.reason)) return;
    this.current = { up, reason, since: up === was ? this.current.since : Date.now() };
    if (up === was) return;
    if (up) {
      this.opts.logger.info('storage commits again; resuming');
      this.opts.onRecovered?.();
    } else {
      this.opts.logger.warn({ reason }, 'storage cannot commit; events wait unacknowledged until it can');
    }
  }
}
