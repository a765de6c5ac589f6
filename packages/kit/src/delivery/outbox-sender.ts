import type { Logger } from 'pino';
import type { ChatDelivery } from '../core/chat-delivery';
import type { FaultPoint } from '../core/fault-point';
import { jitteredBackoff } from '../core/jittered-backoff';
import type { DoneOutcome, Outbox, OutboxRow } from '../core/outbox';
import { describeError } from '../errors';
import { classifyFailure, LeaseLostError } from './classify-failure';

export interface OutboxSenderOptions {
  outbox: Outbox;
  delivery: ChatDelivery;
  logger: Logger;
  /** Rows in delivery at once (one per conversation); keeps the rate queue below RATE_MAX_QUEUE. */
  maxInFlight?: number;
  /** How often to look for rows due again (retries, rows of instances that died). */
  pollMs?: number;
  /** Backoff between tries of one effect: `baseMs * 2^(n-1)`, jittered, at most `maxMs`; never given up. */
  retry?: { baseMs: number; maxMs: number };
  /** Seconds from an effect's commit to ClickDesk accepting it. */
  onSent?: (kind: 'post' | 'transfer', seconds: number) => void;
  onRetry?: (reason: string) => void;
  onDeadLetter?: (reason: string) => void;
  /**
   * How long a send of unknown outcome waits for its echo (which settles it, see
   * `Completion.echoOf`) before `conversations.history` is asked; counted from the attempt, or
   * from this sender's start when it started later (the echo is redelivered after a restart),
   * on `listeningClock`.
   */
  echoWaitMs?: number;
  /**
   * Milliseconds during which ClickDesk could deliver to this app (a link delivering), so that an
   * echo wait does not run out while no echo could arrive (see `ListeningClock`). Default: the
   * wall clock.
   */
  listeningClock?: () => number;
  /** A send of unknown outcome was found in the conversation's history (not sent again). */
  onReconciled?: () => void;
  faultPoint?: FaultPoint;
  now?: () => number;
}

type Stage = 'reconcile' | 'queued' | 'sending';

const DEFAULT_ECHO_WAIT_MS = 5_000;
/** An echo wait ends after this many times `echoWaitMs` of wall time, heard or not. */
const ECHO_WALL_FACTOR = 6;

/** Attempts remembered with their listening-clock reading; older ones fall back to an estimate. */
const MAX_REMEMBERED_ATTEMPTS = 10_000;

/** How far before the recorded attempt the history is searched (clock skew between us and ClickDesk). */
const HISTORY_SKEW_MS = 60_000;

/**
 * Delivers committed effects: each through `ChatDelivery` (the channel policy and the rate
 * governor are behind it). Before a post leaves, the attempt is recorded; a row found with an
 * attempt but no answer (a crash, a timeout) is first left for its echo to settle (the echo
 * carries the `client_msg_id`, and arrives, or is redelivered after a restart, within seconds),
 * and only then looked up in `conversations.history` (one call per conversation: a conversation
 * has one row in delivery at a time) before it is posted again. Transient failures are retried with capped,
 * jittered backoff, forever; permanent ones become dead letters.
 */
export class OutboxSender {
  private readonly inFlight = new Set<string>();
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private startedAt = 0;
  private heardAtStart = 0;
  /** The listening clock when this process attempted a send, by effect id. */
  private readonly attemptHeard = new Map<string, number>();

  constructor(private readonly opts: OutboxSenderOptions) {}

  get pending(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.stopped = false;
    this.startedAt = (this.opts.now ?? Date.now)();
    this.heardAtStart = this.heard();
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1_000);
    this.timer.unref();
    this.kick();
  }

  /** New rows were committed, or a delivery finished: look for work now. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops claiming; resolves true once deliveries in flight are done, false if the deadline passed. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.inFlight.size === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async pump(): Promise<void> {
    const max = this.opts.maxInFlight ?? 64;
    try {
      for (;;) {
        const room = max - this.inFlight.size;
        if (room <= 0 || this.stopped) return;
        const rows = (await this.opts.outbox.claim(room)).filter((r) => !this.inFlight.has(r.effectId));
        if (rows.length === 0) return;
        for (const row of rows) {
          this.inFlight.add(row.effectId);
          void this.deliver(row).finally(() => {
            this.inFlight.delete(row.effectId);
            if (this.inFlight.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
            this.kick();
          });
        }
      }
    } catch (err) {
      this.opts.logger.error(
        { err: describeError(err) },
        'claiming outbox rows failed; retrying at next poll',
      );
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const { outbox, delivery, faultPoint } = this.opts;
    const now = this.opts.now ?? Date.now;
    const { teamId, conversationId, effectId, effect } = row;
    // Where a failure struck: looking up an earlier send, waiting to send, or after the send left.
    let stage: Stage = row.attemptedAt !== undefined ? 'reconcile' : 'queued';
    try {
      let outcome: DoneOutcome;
      if (effect.kind === 'post' && row.attemptedAt !== undefined) {
        const echoWait = this.opts.echoWaitMs ?? DEFAULT_ECHO_WAIT_MS;
        const wall = now() - Math.max(row.attemptedAt, this.startedAt);
        // No link for long (RTM down, Web API up): the history answers instead, bounded in wall time.
        const left = Math.min(echoWait - this.heardSince(row), ECHO_WALL_FACTOR * echoWait - wall);
        if (left > 0) {
          await outbox.awaitEcho(effectId, now() + left);
          return;
        }
      }
      if (effect.kind === 'post') {
        if (
          row.attemptedAt !== undefined &&
          (await delivery.wasPosted(teamId, conversationId, effectId, row.attemptedAt - HISTORY_SKEW_MS))
        ) {
          this.opts.onReconciled?.();
          outcome = 'already_sent';
        } else {
          stage = 'queued';
          outcome = await delivery.post(teamId, conversationId, effect.text, effectId, async () => {
            if (!(await outbox.markAttempt(effectId))) throw new LeaseLostError(effectId);
            this.rememberAttempt(effectId);
            stage = 'sending';
            faultPoint?.('before-send');
          });
          faultPoint?.('after-answer');
        }
      } else {
        stage = 'sending';
        await delivery.transfer(teamId, conversationId);
        outcome = 'sent';
      }
      this.attemptHeard.delete(effectId);
      await outbox.markDone(effectId, outcome);
      if (outcome === 'sent') this.opts.onSent?.(effect.kind, (now() - row.createdAt) / 1000);
    } catch (err) {
      await this.failed(row, err, stage);
    }
  }

  private heard(): number {
    return this.opts.listeningClock?.() ?? (this.opts.now ?? Date.now)();
  }

  /** How long ClickDesk could have delivered the echo of this row's last attempt. */
  private heardSince(row: OutboxRow): number {
    const remembered = this.attemptHeard.get(row.effectId);
    if (remembered !== undefined) return this.heard() - remembered;
    const attemptedAt = row.attemptedAt ?? 0;
    // Attempted before this process started (the echo is redelivered after the restart): from the start.
    if (attemptedAt <= this.startedAt) return this.heard() - this.heardAtStart;
    // Attempted by another instance since: at most the wall time since, at most what was heard since the start.
    const wall = (this.opts.now ?? Date.now)() - attemptedAt;
    return Math.min(wall, this.heard() - this.heardAtStart);
  }

  private rememberAttempt(effectId: string): void {
    if (this.attemptHeard.size >= MAX_REMEMBERED_ATTEMPTS) {
      const oldest = this.attemptHeard.keys().next().value;
      if (oldest !== undefined) this.attemptHeard.delete(oldest);
    }
    this.attemptHeard.set(effectId, this.heard());
  }

  private async failed(row: OutboxRow, err: unknown, stage: Stage): Promise<void> {
    const { outbox, logger } = this.opts;
    const now = this.opts.now ?? Date.now;
    const failure = classifyFailure(err);
    const log = logger.child({ effectId: row.effectId, kind: row.effect.kind, reason: failure.reason });
    try {
      if (failure.kind !== 'transient') this.attemptHeard.delete(row.effectId);
      if (failure.kind === 'lease_lost') {
        log.warn('another instance took this effect over');
      } else if (failure.kind === 'permanent') {
        await outbox.deadLetter(row.effectId, failure.reason);
        log.error('ClickDesk refused the effect for good; dead-lettered');
        this.opts.onDeadLetter?.(failure.reason);
      } else {
        const retry = this.opts.retry ?? { baseMs: 500, maxMs: 60_000 };
        const delay = jitteredBackoff(row.tries + 1, retry);
        // A failed history lookup leaves an earlier send as unknown as it was; a failure before
        // this try's send left (queue full, deadline) proves nothing left; after it, the answer says.
        const delivered = stage === 'reconcile' ? 'unknown' : stage === 'queued' ? 'no' : failure.delivered;
        if (delivered === 'no') this.attemptHeard.delete(row.effectId);
        await outbox.retryLater(row.effectId, now() + delay, failure.reason, delivered);
        log.warn(
          { err: describeError(err), tries: row.tries + 1, delayMs: Math.round(delay) },
          'delivery failed; will retry',
        );
        this.opts.onRetry?.(failure.reason);
      }
    } catch (storeErr) {
      // The row stays leased to us; once the lease runs out it is claimed again.
      log.error({ err: describeError(storeErr) }, 'could not record the delivery failure');
    }
  }
}
