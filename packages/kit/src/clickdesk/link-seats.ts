/**
 * The app-wide register of RTM links (contract §2.7: an app may hold up to 10 connections,
 * whichever instance opens them). Each instance holds leases on numbered seats `0..cap-1` and
 * opens a link only on a seat it holds, so the instances together never ask ClickDesk for more
 * links than the cap, and `apps.connections.open` is spent only where a link is missing
 * (Terms 4.9: no attempt to exceed a limit).
 *
 * A seat is `held` (its link open or opening), `offered` (its holder is stopping: the link still
 * delivers until someone takes the seat) or `taking` (taken from a stopping holder, whose link
 * may still be open: the new holder opens once that link is closed, or after the handover bound).
 */
export interface SeatSync {
  /** Seats this instance holds, each with whether a link may be opened on it now. */
  mine: Array<{ seat: number; ready: boolean }>;
  /** Seats held by any instance. */
  held: number;
  /** Other instances holding fewer seats than they want. */
  wanting: number;
}

export interface SeatSyncRequest {
  instanceId: string;
  cap: number;
  /** Links this instance wants (RTM_CONNECTIONS); seats beyond it are given back. */
  want: number;
  /** Stopping: keep the seats, offer them to the instances that want links, claim none. */
  offering: boolean;
  /** A lease not renewed within this long is free for anyone. */
  ttlMs: number;
  /** How long a seat taken from a stopping holder waits for that holder's link to close. */
  handoverMs: number;
  /** Seats this instance believes it holds: taken back first if they fell free (e.g. after an outage). */
  believed: readonly number[];
}

/** Where the seats live: in Redis for a fleet, in memory for one instance. */
export interface LinkSeatStore {
  /** Renews this instance's leases, claims or offers seats as asked, and says where the fleet stands. */
  sync(req: SeatSyncRequest): Promise<SeatSync>;
  /**
   * The link on `seat` is closed: a seat still ours is freed; one taken from us by a successor
   * becomes ready for it.
   */
  released(instanceId: string, seat: number): Promise<void>;
  /** Gives back every seat and the wish for links (after this instance closed its links). */
  leave(instanceId: string): Promise<void>;
  close(): Promise<void>;
}
