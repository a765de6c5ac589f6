// RTM tickets (contract §2): each `apps.connections.open` issues one, good for one upgrade within the TTL.
import { randomUUID } from 'node:crypto';

/** Entries kept in the issue log (the newest). */
const LOG_LIMIT = 10_000;

export class RtmTickets {
  /** When each ticket was issued, in order. */
  readonly issuedAt: number[] = [];
  /** Each unused ticket and when it expires (Date.now() ms). */
  private readonly expiries = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  issue(): string {
    const ticket = randomUUID();
    this.issuedAt.push(Date.now());
    if (this.issuedAt.length > LOG_LIMIT) this.issuedAt.shift();
    this.expiries.set(ticket, Date.now() + this.ttlMs);
    return ticket;
  }

  /** Uses the ticket up, valid or not; true when it was issued and has not expired. */
  redeem(ticket: string): boolean {
    const expires = this.expiries.get(ticket);
    this.expiries.delete(ticket);
    return expires !== undefined && expires >= Date.now();
  }
}
