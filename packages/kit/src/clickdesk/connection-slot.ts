import { CodedError, describeError } from '../errors';
import { backoffDelay } from './backoff';
import type { ClickDeskGateway } from './gateway';
import { RtmConnection, type CloseReason } from './rtm-connection';
import { checkRtmUrl } from './rtm-url';
import type { DisconnectReason } from './wire';

/** Why a link was replaced: the server's notice, or how the link ended. */
export type ReconnectReason = CloseReason | DisconnectReason;

/** Planning waits are re-checked at least this often (the shared budget may free up). */
const REPLAN_MS = 1_000;

/**
 * One logical link. Whatever happens to it (notices, repeated notices, a close), at most one
 * replacement is on its way; the replacement is adopted on `hello` before the old link is
 * retired (make-before-break). Backoff (full jitter) applies after failed attempts and starts
 * afresh on every good `hello`.
 */
export class ConnectionSlot {
  current: RtmConnection | undefined;
  /**
   * The fleet seat this link is opened on (link-seats.ts); undefined while the slot holds none,
   * and then it opens nothing.
   */
  seat: number | undefined;
  /** Links being opened or retired, closed on shutdown. */
  private readonly others = new Set<RtmConnection>();
  private replacing = false;
  /** Why the current replacement began (the first trigger; later ones coalesce into it). */
  private cause: ReconnectReason | undefined;
  private failures = 0;
  private failuresBeforeHello = 0;

  constructor(
    private readonly gw: ClickDeskGateway,
    private readonly index: number,
  ) {}

  /** Starts a replacement unless one is already on its way. `cause` is undefined for the first link. */
  replace(cause: ReconnectReason | undefined): void {
    this.cause ??= cause;
    if (this.replacing || this.gw.stopping || this.seat === undefined) return;
    this.replacing = true;
    void this.run()
      .catch((err: unknown) =>
        this.gw.opts.logger.error({ slot: this.index, err: describeError(err) }, 'RTM reconnect loop failed'),
      )
      .finally(() => {
        this.replacing = false;
      });
  }

  /**
   * The seat is gone (handed to another instance, or its lease lost): the links close, none is
   * opened in their place, and the seat is given back once they are closed.
   */
  async surrender(): Promise<number | undefined> {
    const seat = this.seat;
    this.seat = undefined;
    const all = [...this.others, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    this.gw.linksChanged();
    await Promise.all(all.map((c) => c.retire(1_000)));
    return seat;
  }

  async closeAll(): Promise<void> {
    const all = [...this.others, ...(this.current ? [this.current] : [])];
    await Promise.all(all.map((c) => c.retire(1_000)));
  }

  private async run(): Promise<void> {
    const { logger, backoffBaseMs, backoffMaxMs, random } = this.gw.opts;
    while (!this.gw.stopping && this.seat !== undefined) {
      if (this.failures > 0)
        await this.gw.sleep(backoffDelay(this.failures - 1, backoffBaseMs, backoffMaxMs, random));
      const priority = await this.waitForBudget();
      if (priority === undefined) return;
      try {
        const conn = await this.open(priority);
        if (this.seat === undefined) {
          // The seat went while the link was opening: it must not stay (the cap counts it).
          void conn.retire(0);
          return;
        }
        this.adopt(conn);
        return;
      } catch (err) {
        if (this.gw.fatalCode(err)) {
          this.gw.fail(err as CodedError);
          return;
        }
        this.failures += 1;
        this.gw.planner.trouble();
        logger.warn(
          { slot: this.index, attempt: this.failures, err: describeError(err) },
          'RTM connect failed; backing off',
        );
      } finally {
        this.gw.planner.opened();
      }
    }
  }

  /** Waits until the planner permits an open; undefined if the gateway stops meanwhile. */
  private async waitForBudget(): Promise<'reply' | 'background' | undefined> {
    for (;;) {
      if (this.gw.stopping || this.seat === undefined) return undefined;
      // Urgent when no link of this gateway can be delivered on and none is being opened;
      // otherwise it restores redundancy.
      let urgent = false;
      const wait = await this.gw.planner.take(
        () => (urgent = this.gw.deliverableConnections === 0 && this.gw.planner.opening === 0),
      );
      if (this.gw.stopping || this.seat === undefined) {
        if (wait === 0) {
          this.gw.planner.release();
          this.gw.planner.opened();
        }
        return undefined;
      }
      if (wait === 0) return urgent ? 'reply' : 'background';
      await this.gw.sleep(Math.min(wait, REPLAN_MS), true);
    }
  }

  private async open(priority: 'reply' | 'background'): Promise<RtmConnection> {
    const { opts } = this.gw;
    let url: string;
    try {
      url = await opts.openConnection(priority);
    } finally {
      this.gw.planner.release();
    }
    if (opts.apiUrl !== undefined) url = checkRtmUrl(url, opts.apiUrl).href;
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
      onProtocolError: (problem, c) => this.gw.protocolError(problem, c),
      onClose: (c, why) => this.onClose(c, why),
    });
    this.others.add(conn);
    try {
      await conn.ready;
    } catch (err) {
      conn.terminate('hello_timeout');
      throw err;
    }
    if (conn.notice !== undefined) {
      // Told to go right after hello (e.g. too_many_websockets): not a link to adopt.
      void conn.retire(0);
      throw new CodedError('RTM_CONNECT_FAILED', `ClickDesk sent "${conn.notice}" right after hello`);
    }
    return conn;
  }

  private adopt(conn: RtmConnection): void {
    this.others.delete(conn);
    const previous = this.current;
    this.current = conn;
    this.failuresBeforeHello = this.failures;
    this.failures = 0; // a good hello: backoff starts afresh
    this.gw.opts.logger.info({ connection: conn.label }, 'RTM connected');
    if (this.cause !== undefined) {
      this.gw.opts.observer?.reconnect?.(this.cause);
      this.cause = undefined;
    }
    if (previous) {
      this.others.add(previous);
      void previous.retire(5_000);
    }
    if (this.gw.stopping) conn.stopReceiving();
    this.gw.linksChanged();
  }

  private onNotice(reason: DisconnectReason, conn: RtmConnection): void {
    const { logger } = this.gw.opts;
    if (reason === 'link_disabled') {
      this.gw.fail(
        new CodedError(
          'CLICKDESK_LINK_DISABLED',
          'ClickDesk disabled this app (link_disabled): not reconnecting. Re-enable the app in ClickDesk, then restart.',
        ),
      );
      return;
    }
    // A link still opening handles its own notice (see open()); a retiring one is already replaced.
    if (conn !== this.current) return;
    this.gw.planner.trouble();
    logger.info({ connection: conn.label, reason }, 'ClickDesk sent disconnect');
    if (reason === 'too_many_websockets') {
      logger.warn(
        { connection: conn.label },
        'ClickDesk holds too many connections for this app; lower RTM_CONNECTIONS',
      );
      this.failures = this.failuresBeforeHello + 1;
      this.current = undefined;
      this.others.add(conn);
      void conn.retire(0);
    }
    if (reason !== 'too_many_websockets' && this.gw.atCap) {
      // The fleet holds every link the app may have: a replacement opened first would be refused
      // (too_many_websockets), so this one goes first and the others carry the load meanwhile.
      this.current = undefined;
      this.others.add(conn);
      void conn.retire(1_000);
    }
    this.gw.linksChanged();
    // Make before break: the replacement is adopted first, then this link retires.
    this.replace(reason);
  }

  private onClose(conn: RtmConnection, why: CloseReason): void {
    this.others.delete(conn);
    if (conn !== this.current) return;
    this.current = undefined;
    this.gw.planner.trouble();
    this.gw.linksChanged();
    if (this.gw.stopping || this.seat === undefined) return;
    this.gw.opts.logger.warn({ connection: conn.label, why }, 'RTM connection lost; reconnecting');
    this.replace(why);
  }
}
