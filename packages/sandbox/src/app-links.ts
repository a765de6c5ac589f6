// The app's open RTM links: the link cap, refusing with too_many_websockets, counting open and
// deliverable links, and choosing which link gets the next envelope or a fault.
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { Target } from './rtm-faults';
import type { RtmLink } from './rtm-link';

export class AppLinks implements Iterable<RtmLink> {
  private readonly links: RtmLink[] = [];
  private nextLinkId = 1;
  private roundRobin = 0;

  constructor(private readonly maxConnections: number) {}

  get open(): number {
    return this.links.length;
  }

  /** Links ClickDesk can deliver on: open and not told to go. */
  get deliverable(): number {
    let n = 0;
    for (const l of this.links) if (l.receiving && l.ws.readyState === WebSocket.OPEN) n += 1;
    return n;
  }

  /** Whether any link has not been told to go (one may still be closing). */
  anyReceiving(): boolean {
    return this.links.some((l) => l.receiving);
  }

  [Symbol.iterator](): Iterator<RtmLink> {
    return this.links[Symbol.iterator]();
  }

  /**
   * Adds the link, or refuses it at the cap and returns undefined. Contract §2.5: a refused
   * connection opens, says hello, and is then told why it cannot stay.
   */
  admit(ws: WebSocket, socket: Duplex, hello: (connections: number) => unknown): RtmLink | undefined {
    if (this.links.length >= this.maxConnections) {
      ws.on('error', () => undefined);
      sendJson(ws, hello(this.links.length + 1));
      sendJson(ws, { type: 'disconnect', reason: 'too_many_websockets' });
      ws.close(1008, 'too_many_websockets');
      return undefined;
    }
    const link: RtmLink = { id: this.nextLinkId++, ws, socket, pending: [], receiving: true, alive: true };
    this.links.push(link);
    return link;
  }

  /** Called when the link has closed: it delivers nothing more and no longer counts. */
  remove(link: RtmLink): void {
    link.receiving = false;
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
  }

  /** The targeted links, oldest first; with `notNotified`, only among those not told to go. */
  pick(target: Target, notNotified = false): RtmLink[] {
    const links = notNotified ? this.links.filter((l) => l.receiving) : this.links;
    if (target === 'all') return [...links];
    const link = target === 'oldest' ? links[0] : links[links.length - 1];
    return link ? [link] : [];
  }

  /** Round robin over the links that are open and not told to go. */
  nextReceiving(): RtmLink | undefined {
    const n = this.links.length;
    for (let i = 1; i <= n; i++) {
      const link = this.links[(this.roundRobin + i) % n];
      if (link?.receiving && link.ws.readyState === WebSocket.OPEN) {
        this.roundRobin = (this.roundRobin + i) % n;
        return link;
      }
    }
    return undefined;
  }
}

function sendJson(ws: WebSocket, value: unknown): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
}
