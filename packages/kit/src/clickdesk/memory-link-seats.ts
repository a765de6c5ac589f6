import type { LinkSeatStore, SeatSync, SeatSyncRequest } from './link-seats';

interface Seat {
  owner: string;
  expiresAt: number;
  state: 'held' | 'offered' | 'taking';
  /** `taking`: the stopping holder whose link may still be open, and until when we wait for it. */
  previous: string;
  waitUntil: number;
}

/**
 * The seat register of one process (no Redis: the SQLite deployment is one instance; tests).
 * The same rules as the Redis script (redis-link-seats.ts), which is the fleet's.
 */
export class MemoryLinkSeats implements LinkSeatStore {
  private readonly seats = new Map<number, Seat>();
  private readonly wants = new Map<string, { want: number; held: number; expiresAt: number }>();
  private readonly now: () => number;

  constructor(now?: () => number) {
    this.now = now ?? Date.now;
  }

  sync(req: SeatSyncRequest): Promise<SeatSync> {
    const now = this.now();
    const { instanceId: me, cap, ttlMs } = req;
    let mine = 0;
    for (const [i, s] of this.seats) {
      if (s.expiresAt < now || i >= cap) {
        if (i >= cap && s.owner !== me && s.expiresAt >= now) continue; // its holder gives it back
        this.seats.delete(i);
        continue;
      }
      if (s.owner !== me) continue;
      s.expiresAt = now + ttlMs;
      if (req.offering && s.state === 'taking' && now < s.waitUntil) {
        this.seats.delete(i); // not opened yet: nothing to hand over
        continue;
      }
      if (req.offering) s.state = 'offered';
      mine += 1;
    }
    if (!req.offering) {
      for (let i = cap - 1; i >= 0 && mine > req.want; i--) {
        if (this.seats.get(i)?.owner === me) {
          this.seats.delete(i);
          mine -= 1;
        }
      }
      const believed = new Set(req.believed);
      const fresh = (): Seat => ({
        owner: me,
        expiresAt: now + ttlMs,
        state: 'held',
        previous: '',
        waitUntil: 0,
      });
      for (const pass of ['believed', 'free', 'offered'] as const) {
        for (let i = 0; i < cap && mine < req.want; i++) {
          const s = this.seats.get(i);
          if (s === undefined && (pass === 'free' || (pass === 'believed' && believed.has(i)))) {
            this.seats.set(i, fresh());
            mine += 1;
          } else if (pass === 'offered' && s?.state === 'offered' && s.owner !== me) {
            this.seats.set(i, {
              ...fresh(),
              state: 'taking',
              previous: s.owner,
              waitUntil: now + req.handoverMs,
            });
            mine += 1;
          }
        }
      }
    }
    this.wants.set(me, { want: req.offering ? 0 : req.want, held: mine, expiresAt: now + ttlMs });
    let wanting = 0;
    for (const [id, w] of this.wants) {
      if (w.expiresAt < now) this.wants.delete(id);
      else if (id !== me && w.want > w.held) wanting += 1;
    }
    const result: SeatSync = { mine: [], held: 0, wanting };
    for (const [i, s] of [...this.seats].sort((a, b) => a[0] - b[0])) {
      if (i < cap) result.held += 1;
      if (s.owner === me) result.mine.push({ seat: i, ready: s.state !== 'taking' || now >= s.waitUntil });
    }
    return Promise.resolve(result);
  }

  released(instanceId: string, seat: number): Promise<void> {
    const s = this.seats.get(seat);
    if (s?.owner === instanceId) this.seats.delete(seat);
    else if (s?.state === 'taking' && s.previous === instanceId) {
      s.state = 'held';
      s.waitUntil = 0;
    }
    return Promise.resolve();
  }

  leave(instanceId: string): Promise<void> {
    for (const [i, s] of this.seats) {
      if (s.owner === instanceId) this.seats.delete(i);
      else if (s.state === 'taking' && s.previous === instanceId) {
        s.state = 'held';
        s.waitUntil = 0;
      }
    }
    this.wants.delete(instanceId);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
