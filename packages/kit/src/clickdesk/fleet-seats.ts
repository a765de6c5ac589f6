import type { Logger } from 'pino';
import { describeError } from '../errors';
import type { LinkSeatStore, SeatSync } from './link-seats';

export interface FleetSeatsOptions {
  store: LinkSeatStore;
  instanceId: string;
  /** Links the app may hold at ClickDesk in all (contract §2.7: 10), RTM_APP_LINKS. */
  cap: number;
  /** Links this instance wants (RTM_CONNECTIONS). */
  want: number;
  /**
   * While the register has never answered, the cap is shared by this many instances
   * (RATE_FALLBACK_INSTANCES): a lone instance starting during a Redis outage still connects.
   */
  fallbackInstances: number;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** A lease not renewed this long is free for anyone (default 5 s). */
  ttlMs?: number;
  /** Renewal period while this instance has the seats it wants (default 1 s). */
  syncMs?: number;
  /** Renewal period while it wants more, or hands seats over (default 250 ms). */
  eagerSyncMs?: number;
  /** How long a seat taken from a stopping instance waits for that instance's link to close (default 5 s). */
  handoverMs?: number;
}

/** Where the fleet stands, for readiness and metrics. */
export interface FleetView {
  cap: number;
  want: number;
  /** Seats this instance holds (ready or still being handed over to it). */
  held: number;
  /** Seats held by every instance; undefined until the register answered. */
  fleetHeld: number | undefined;
  /** Other instances that hold fewer seats than they want. */
  wanting: number;
  reachable: boolean;
}

/**
 * This instance's seats in the fleet's link register (link-seats.ts): renews its leases on a
 * heartbeat, claims seats while it has fewer than it wants, and on stop offers its seats to the
 * instances that want links. The gateway opens a link only on a ready seat.
 *
 * While the register is unreachable the instance keeps the seats it holds (their links go on
 * delivering) and claims none: the others cannot see a claim, so a new link could exceed the
 * cap. The exception is an instance that has never reached it: it plans with its share of the
 * cap (cap / fallbackInstances), so a lone instance starting during an outage still connects.
 */
export class FleetSeats {
  /** Called whenever the seats this instance may use change. */
  onChange: () => void = () => undefined;
  private mine = new Map<number, boolean>();
  private last: SeatSync | undefined;
  private reachable = true;
  private offering = false;
  private left = false;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private readonly ttlMs: number;

  constructor(private readonly opts: FleetSeatsOptions) {
    this.ttlMs = opts.ttlMs ?? 5_000;
  }

  /** Seats a link may be opened on now. */
  get ready(): number[] {
    return [...this.mine].filter(([, ready]) => ready).map(([seat]) => seat);
  }

  get view(): FleetView {
    return {
      cap: this.opts.cap,
      want: this.opts.want,
      held: this.mine.size,
      fleetHeld: this.last?.held,
      wanting: this.last?.wanting ?? 0,
      reachable: this.reachable,
    };
  }

  start(): void {
    this.schedule(0);
  }

  /** Renews and claims now (also what the heartbeat does); concurrent calls share one round. */
  sync(): Promise<void> {
    this.syncing ??= this.round().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Stopping: the seats are offered to the instances that want links; none is claimed any more. */
  async offer(): Promise<void> {
    this.offering = true;
    await this.sync();
  }

  /** The link on `seat` is closed: the seat goes to whoever took it, or back to the fleet. */
  async released(seat: number): Promise<void> {
    this.mine.delete(seat);
    try {
      await this.opts.store.released(this.opts.instanceId, seat);
    } catch (err) {
      this.opts.logger.warn(
        { seat, err: describeError(err) },
        'could not release a link seat; its lease runs out instead',
      );
    }
  }

  /** Every link of this instance is closed: all seats go back to the fleet. */
  async leave(): Promise<void> {
    this.left = true;
    clearTimeout(this.timer);
    await this.syncing;
    this.mine.clear();
    try {
      await this.opts.store.leave(this.opts.instanceId);
    } catch (err) {
      this.opts.logger.warn(
        { err: describeError(err) },
        'could not give the link seats back; their leases run out instead',
      );
    }
  }

  private schedule(ms: number): void {
    if (this.left) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.sync().finally(() => {
        const eager = this.offering || this.mine.size < this.opts.want || this.ready.length < this.mine.size;
        this.schedule(eager ? (this.opts.eagerSyncMs ?? 250) : (this.opts.syncMs ?? 1_000));
      });
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.left) return;
    const before = this.ready.join(',');
    try {
      const got = await this.opts.store.sync({
        instanceId: this.opts.instanceId,
        cap: this.opts.cap,
        want: this.opts.want,
        offering: this.offering,
        ttlMs: this.ttlMs,
        handoverMs: this.opts.handoverMs ?? 5_000,
        believed: [...this.mine.keys()],
      });
      if (this.left) return;
      if (!this.reachable) this.opts.logger.info({}, 'the link register (Redis) answers again');
      this.reachable = true;
      this.last = got;
      this.mine = new Map(got.mine.map((s) => [s.seat, s.ready]));
    } catch (err) {
      if (this.reachable)
        this.opts.logger.warn(
          { err: describeError(err) },
          'the link register (Redis) is unreachable: keeping the links held, opening no new ones',
        );
      this.reachable = false;
      if (this.last === undefined && this.mine.size === 0 && !this.offering) {
        const share = Math.floor(this.opts.cap / Math.max(1, this.opts.fallbackInstances));
        for (let i = 0; i < Math.min(share, this.opts.want); i++) this.mine.set(i, true);
      }
    }
    if (this.ready.join(',') !== before) this.onChange();
  }
}
