import type { Logger } from 'pino';
import type { InboundEvent } from '../core/chat-event';
import { CodedError, describeError, isCodedError } from '../errors';
import { backoffDelay } from './backoff';
import { RtmConnection, type CloseReason } from './rtm-connection';
import type { DisconnectReason, Frame } from './wire';

/** Hooks for metrics; every method is optional to implement. */
export interface GatewayObserver {
  connectionChanged?(open: number): void;
  reconnect?(reason: CloseReason | DisconnectReason): void;
  envelope?(outcome: 'recorded' | 'duplicate' | 'unmodelled' | 'not_recorded'): void;
  protocolError?(): void;
  /** Seconds from receiving an envelope to sending its ack. */
  acked?(seconds: number): void;
}

export interface GatewayOptions {
  /** `apps.connections.open`: a fresh single-use RTM URL. */
  openConnection: () => Promise<string>;
  /** Records the event durably (deduplicating); the envelope is acknowledged only after this resolves. */
  intake: (event: InboundEvent) => Promise<'recorded' | 'duplicate'>;
  connections: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  stallTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  helloTimeoutMs?: number;
  /** A connection that lived this long counts as healthy: the next failure starts backoff afresh. */
  stableAfterMs?: number;
  logger: Logger;
  /** Terminal failures (link disabled, credentials refused): the gateway has stopped. */
  onFatal: (err: CodedError) => void;
  observer?: GatewayObserver;
  random?: () => number;
}

/**
 * Keeps `connections` RTM links to ClickDesk open and turns their envelopes into recorded
 * events. Delivery is at-least-once; the ack follows the record, and the inbox drops
 * redeliveries, so each event is handled once.
 */
export class ClickDeskGateway {
  private readonly slots: ConnectionSlot[] = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private state: 'idle' | 'running' | 'stopping' | 'failed' = 'idle';
  private serial = 0;

  constructor(readonly opts: GatewayOptions) {}

  get running(): boolean {
    return this.state === 'running';
  }

  /** Number of links that have said hello and are open. */
  get openConnections(): number {
    return this.slots.filter((s) => s.current?.isOpen).length;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error('gateway already started');
    this.state = 'running';
    for (let i = 0; i < this.opts.connections; i++) {
      const slot = new ConnectionSlot(this, i + 1);
      this.slots.push(slot);
      void slot.ensureConnected(false);
    }
  }

  /**
   * Graceful stop, part one: no new envelopes are taken (those that arrive go unacknowledged and
   * ClickDesk redelivers them), and the ones being recorded finish and are acknowledged.
   */
  async pause(timeoutMs: number): Promise<boolean> {
    if (this.state === 'running') this.state = 'stopping';
    for (const s of this.sleepers) s.wake();
    for (const slot of this.slots) slot.current?.stopReceiving();
    if (this.inflight === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Graceful stop, part two: closes every link with a close frame. */
  async close(): Promise<void> {
    await this.pause(0);
    await Promise.all(this.slots.map((s) => s.closeAll()));
  }

  // ---- used by ConnectionSlot ----

  get stopping(): boolean {
    return this.state === 'stopping' || this.state === 'failed';
  }

  nextLabel(slot: number): string {
    this.serial += 1;
    return `slot${slot}#${this.serial}`;
  }

  fail(err: CodedError): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.opts.logger.error({ err: describeError(err) }, 'ClickDesk gateway stopped');
    for (const s of this.sleepers) s.wake();
    void Promise.all(this.slots.map((s) => s.closeAll())).finally(() => this.opts.onFatal(err));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms),
        wake: () => {
          clearTimeout(entry.timer);
          this.sleepers.delete(entry);
          resolve();
        },
      };
      this.sleepers.add(entry);
    });
  }

  handleEnvelope(frame: Extract<Frame, { kind: 'envelope' }>, conn: RtmConnection): void {
    const { observer, logger } = this.opts;
    if (!frame.event) {
      conn.ack(frame.envelopeId);
      observer?.envelope?.('unmodelled');
      logger.debug({ eventType: frame.eventType }, 'acknowledged an event type this app does not handle');
      return;
    }
    const received = process.hrtime.bigint();
    const { eventId } = frame.event;
    conn.beginIntake();
    this.inflight += 1;
    this.opts
      .intake(frame.event)
      .then((outcome) => {
        observer?.envelope?.(outcome);
        if (conn.ack(frame.envelopeId)) observer?.acked?.(Number(process.hrtime.bigint() - received) / 1e9);
        if (outcome === 'duplicate')
          logger.debug({ eventId, retry: frame.retryAttempt }, 'duplicate event dropped');
      })
      .catch((err: unknown) => {
        observer?.envelope?.('not_recorded');
        logger.error(
          { eventId, err: describeError(err) },
          'event not recorded; left unacknowledged for redelivery',
        );
      })
      .finally(() => {
        conn.endIntake();
        this.inflight -= 1;
        if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }

  reportConnections(): void {
    this.opts.observer?.connectionChanged?.(this.openConnections);
  }
}

/** One logical link: reconnects with backoff and replaces itself make-before-break. */
class ConnectionSlot {
  current: RtmConnection | undefined;
  private readonly others = new Set<RtmConnection>();
  private connecting = false;
  private attempt = 0;
  private adoptedAt = 0;

  constructor(
    private readonly gw: ClickDeskGateway,
    private readonly index: number,
  ) {}

  async ensureConnected(backOffFirst: boolean): Promise<void> {
    if (this.connecting || this.gw.stopping) return;
    this.connecting = true;
    const { logger, backoffBaseMs, backoffMaxMs, random } = this.gw.opts;
    try {
      let wait = backOffFirst;
      while (!this.gw.stopping) {
        if (wait) await this.gw.sleep(backoffDelay(this.attempt++, backoffBaseMs, backoffMaxMs, random));
        if (this.gw.stopping) return;
        wait = true;
        try {
          this.adopt(await this.open());
          return;
        } catch (err) {
          if (isCodedError(err, 'CLICKDESK_AUTH_FAILED') || isCodedError(err, 'CLICKDESK_LINK_DISABLED')) {
            this.gw.fail(err);
            return;
          }
          logger.warn(
            { slot: this.index, attempt: this.attempt, err: describeError(err) },
            'RTM connect failed; backing off',
          );
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.others, ...(this.current ? [this.current] : [])];
    await Promise.all(all.map((c) => c.retire(1_000)));
  }

  private async open(): Promise<RtmConnection> {
    const { opts } = this.gw;
    const url = await opts.openConnection();
    const conn = new RtmConnection({
      url,
      label: this.gw.nextLabel(this.index),
      pingIntervalMs: opts.pingIntervalMs,
      pongTimeoutMs: opts.pongTimeoutMs,
      stallTimeoutMs: opts.stallTimeoutMs,
      helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
      logger: opts.logger,
      onEnvelope: (frame, c) => this.gw.handleEnvelope(frame, c),
      onNotice: (reason, c) => this.onNotice(reason, c),
      onProtocolError: (problem, c) => {
        opts.observer?.protocolError?.();
        opts.logger.warn({ connection: c.label, problem }, 'dropped a malformed RTM frame');
      },
      onClose: (c, why) => this.onClose(c, why),
    });
    this.others.add(conn);
    try {
      await conn.ready;
    } catch (err) {
      conn.terminate('hello_timeout');
      throw err;
    }
    return conn;
  }

  private adopt(conn: RtmConnection): void {
    this.others.delete(conn);
    const previous = this.current;
    this.current = conn;
    this.adoptedAt = Date.now();
    this.gw.opts.logger.info({ connection: conn.label }, 'RTM connected');
    if (previous) {
      this.others.add(previous);
      void previous.retire(5_000);
    }
    if (this.gw.stopping) conn.stopReceiving();
    this.gw.reportConnections();
  }

  private onNotice(reason: DisconnectReason, conn: RtmConnection): void {
    const { logger, observer } = this.gw.opts;
    logger.info({ connection: conn.label, reason }, 'ClickDesk sent disconnect');
    observer?.reconnect?.(reason);
    switch (reason) {
      case 'link_disabled':
        this.gw.fail(
          new CodedError(
            'CLICKDESK_LINK_DISABLED',
            'ClickDesk disabled this app (link_disabled): not reconnecting. Re-enable the app in ClickDesk, then restart.',
          ),
        );
        return;
      case 'warning':
      case 'refresh_requested':
        // Make before break: the replacement is adopted first, then this one retires.
        if (conn === this.current) void this.ensureConnected(false);
        return;
      case 'too_many_websockets':
        logger.warn(
          { connection: conn.label },
          'ClickDesk holds too many connections for this app; lower RTM_CONNECTIONS',
        );
        void conn.retire(0);
        return;
    }
  }

  private onClose(conn: RtmConnection, why: CloseReason): void {
    this.others.delete(conn);
    if (conn !== this.current) return;
    this.current = undefined;
    this.gw.reportConnections();
    if (this.gw.stopping) return;
    this.gw.opts.logger.warn({ connection: conn.label, why }, 'RTM connection lost; reconnecting');
    this.gw.opts.observer?.reconnect?.(why);
    const stable = Date.now() - this.adoptedAt >= (this.gw.opts.stableAfterMs ?? 30_000);
    if (stable) this.attempt = 0;
    void this.ensureConnected(!stable);
  }
}
