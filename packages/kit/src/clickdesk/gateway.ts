import type { Logger } from 'pino';
import type { InboundEvent } from '../core/chat-event';
import { CodedError, describeError, type ErrorCode } from '../errors';
import { ConnectionSlot, type ReconnectReason } from './connection-slot';
import type { FleetSeats, FleetView } from './fleet-seats';
import { LogThrottle } from './log-throttle';
import { OpenPlanner, type OpenBudget } from './open-planner';
import type { RtmConnection } from './rtm-connection';
import type { Frame } from './wire';

/** Hooks for metrics; every method is optional to implement. */
export interface GatewayObserver {
  connectionChanged?(open: number): void;
  /** A link was replaced: the new one said hello after the old one was lost or told to go (`reason`). */
  reconnect?(reason: ReconnectReason): void;
  envelope?(outcome: 'recorded' | 'duplicate' | 'unmodelled' | 'not_recorded'): void;
  protocolError?(): void;
  /** Seconds from receiving an envelope to sending its ack. */
  acked?(seconds: number): void;
}

/** Replacing a link nothing else covers is a `reply` (urgent) call; restoring redundancy is `background`. */
export type OpenPriority = 'reply' | 'background';

export interface GatewayOptions {
  /** `apps.connections.open`: a fresh single-use RTM URL. */
  openConnection: (priority: OpenPriority) => Promise<string>;
  /** The Web API base URL: an RTM URL must be ws/wss on the same host (wss only if this is https). */
  apiUrl?: string;
  /** The `apps.connections.open` budget as the rate governor counts it (shared by every instance). */
  openBudget?: () => Promise<OpenBudget | undefined>;
  /** Records the event durably (deduplicating); the envelope is acknowledged only after this resolves. */
  intake: (event: InboundEvent) => Promise<'recorded' | 'duplicate'>;
  connections: number;
  /**
   * The fleet's link register: a link is opened only on a seat held there, so the instances of
   * the app together stay within ClickDesk's cap. Without it every slot opens (one instance).
   */
  seats?: FleetSeats;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  stallTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  helloTimeoutMs?: number;
  logger: Logger;
  /** Terminal failures (link disabled, credentials refused): the gateway has stopped. */
  onFatal: (err: CodedError) => void;
  observer?: GatewayObserver;
  random?: () => number;
}

/** Tier 1 (docs/clickdesk-contract.md §1), used until the governor has counted a call. */
const CONTRACT_OPEN_BUDGET = { limit: 20, windowMs: 60_000 };
const URGENT_BURST = 2;
/** Calls of the window kept for an urgent replacement: background opens stop short of them. */
const URGENT_RESERVE = 1;

/**
 * Keeps `connections` RTM links to ClickDesk open and turns their envelopes into recorded
 * events. Delivery is at-least-once; the ack follows the record, and the inbox drops
 * redeliveries, so each event is handled once. Links are replaced make-before-break, one
 * replacement at a time per link, with `apps.connections.open` calls planned within budget.
 */
export class ClickDeskGateway {
  readonly planner: OpenPlanner;
  private readonly slots: ConnectionSlot[] = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void; onChange: boolean }>();
  private readonly protocolLog: LogThrottle;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private state: 'idle' | 'running' | 'stopping' | 'failed' = 'idle';
  private serial = 0;
  /** Links being closed because their seat went to another instance. */
  private readonly surrendering = new Set<Promise<void>>();

  constructor(readonly opts: GatewayOptions) {
    this.planner = new OpenPlanner({
      budget: opts.openBudget,
      fallback: CONTRACT_OPEN_BUDGET,
      reserve: URGENT_RESERVE,
      // Urgent opens go one at a time (the others wait for the first link or calm weather):
      // a replacement and a retry, whatever the link count.
      burst: URGENT_BURST,
    });
    this.protocolLog = new LogThrottle(10_000);
    if (opts.seats) opts.seats.onChange = () => this.seatsChanged();
  }

  /** The fleet's seats as this instance sees them; undefined without a register (one instance). */
  get fleet(): FleetView | undefined {
    return this.opts.seats?.view;
  }

  /**
   * Every link the app may hold is held: a replacement opened before its predecessor closes would
   * be refused (too_many_websockets), so replacements break before they make.
   */
  get atCap(): boolean {
    const fleet = this.fleet;
    return fleet?.fleetHeld !== undefined && fleet.fleetHeld >= fleet.cap;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Number of links that have said hello and are open. */
  get openConnections(): number {
    return this.slots.filter((s) => s.current?.isOpen).length;
  }

  /** Links ClickDesk can deliver on now (open, said hello, not told to go). */
  get deliverableConnections(): number {
    return this.slots.filter((s) => s.current?.deliverable).length;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error('gateway already started');
    this.state = 'running';
    for (let i = 0; i < this.opts.connections; i++) this.slots.push(new ConnectionSlot(this, i + 1));
    if (this.opts.seats) {
      this.opts.seats.start();
      return;
    }
    this.slots.forEach((slot, i) => {
      slot.seat = i;
      slot.replace(undefined);
    });
  }

  /**
   * Graceful stop, part zero (make-before-break across instances): the seats are offered to the
   * instances that want links, and each link keeps delivering until its seat is taken; then it
   * closes and its successor opens on the seat. Returns once every seat is handed over, nobody
   * wants one, or `timeoutMs` passed (the links left close with the rest of the stop).
   * Below the cap a taker opens on a free seat first, so this instance's links close after the
   * new ones deliver. At the cap the new link can only follow the old one (an 11th link is
   * refused, contract §2.5), so the break comes first, by the time the taker needs to open; the
   * app's other links carry the envelopes meanwhile (§2.7 spreads them over every link, §2.4
   * redelivers an unacknowledged one on another), and a link closes only after acknowledging
   * what it recorded.
   */
  async handOver(timeoutMs: number): Promise<void> {
    const seats = this.opts.seats;
    if (!seats || this.state !== 'running') return;
    const deadline = Date.now() + timeoutMs;
    await seats.offer();
    while (this.state === 'running' && Date.now() < deadline) {
      if (!this.slots.some((s) => s.seat !== undefined) || seats.view.wanting === 0 || !seats.view.reachable)
        break;
      await this.sleep(Math.min(100, Math.max(1, deadline - Date.now())));
      await seats.sync();
    }
    await Promise.all(this.surrendering);
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
    await Promise.all(this.surrendering);
    // Only once the links are closed: a successor opening earlier would go past the cap.
    await this.opts.seats?.leave();
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
    void Promise.all(this.slots.map((s) => s.closeAll()))
      .then(() => this.opts.seats?.leave())
      .finally(() => this.opts.onFatal(err));
  }

  /** Sleeps `ms`, or less if the gateway stops or (with `onChange`) a link's state changes. */
  sleep(ms: number, onChange = false): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        onChange,
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

  /** A link opened, closed or was told to go: metrics, and slots waiting for budget look again. */
  linksChanged(): void {
    this.planner.delivering(this.deliverableConnections > 0);
    this.opts.observer?.connectionChanged?.(this.openConnections);
    for (const s of this.sleepers) if (s.onChange) s.wake();
  }

  /** The seats this instance may open on changed: slots give up lost seats and take new ones. */
  private seatsChanged(): void {
    const seats = this.opts.seats;
    if (!seats || this.state !== 'running') return;
    const ready = new Set(seats.ready);
    for (const slot of this.slots) {
      if (slot.seat === undefined || ready.has(slot.seat)) continue;
      const done: Promise<void> = slot
        .surrender()
        .then((seat) => (seat === undefined ? undefined : seats.released(seat)))
        .finally(() => this.surrendering.delete(done));
      this.surrendering.add(done);
    }
    const used = new Set(this.slots.map((s) => s.seat));
    const free = [...ready].filter((seat) => !used.has(seat));
    for (const slot of this.slots) {
      const seat = free.shift();
      if (seat === undefined) break;
      if (slot.seat !== undefined) {
        free.unshift(seat);
        continue;
      }
      slot.seat = seat;
      slot.replace(undefined);
    }
    this.linksChanged();
  }

  protocolError(problem: string, conn: RtmConnection): void {
    this.opts.observer?.protocolError?.();
    // Counted exactly in metrics; logged at most once per 10 s, so a hostile peer cannot flood the logs.
    this.protocolLog.run((suppressed) =>
      this.opts.logger.warn(
        { connection: conn.label, problem, suppressed },
        'dropped a malformed RTM frame (later ones within 10 s are counted, not logged)',
      ),
    );
  }

  handleEnvelope(frame: Extract<Frame, { kind: 'envelope' }>, conn: RtmConnection): void {
    const { observer, logger } = this.opts;
    if (!frame.event) {
      conn.ack(frame.envelopeId);
      observer?.envelope?.('unmodelled');
      logger.debug({ eventType: frame.eventType }, 'acknowledged an event type this app does not handle');
      return;
    }
    const received = observer?.acked ? performance.now() : 0;
    conn.beginIntake();
    this.inflight += 1;
    this.opts.intake(frame.event).then(
      (outcome) => {
        observer?.envelope?.(outcome);
        // The ack follows the durable record: never before `intake` resolves.
        if (conn.ack(frame.envelopeId) && observer?.acked)
          observer.acked((performance.now() - received) / 1000);
        if (outcome === 'duplicate')
          logger.debug(
            { eventId: frame.event?.eventId, retry: frame.retryAttempt },
            'duplicate event dropped',
          );
        this.intakeDone(conn);
      },
      (err: unknown) => {
        observer?.envelope?.('not_recorded');
        logger.error(
          { eventId: frame.event?.eventId, err: describeError(err) },
          'event not recorded; left unacknowledged for redelivery',
        );
        this.intakeDone(conn);
      },
    );
  }

  fatalCode(err: unknown): ErrorCode | undefined {
    if (
      err instanceof CodedError &&
      (err.code === 'CLICKDESK_AUTH_FAILED' || err.code === 'CLICKDESK_LINK_DISABLED')
    )
      return err.code;
    return undefined;
  }

  private intakeDone(conn: RtmConnection): void {
    conn.endIntake();
    this.inflight -= 1;
    if (this.inflight === 0 && this.idleWaiters.length > 0)
      for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
