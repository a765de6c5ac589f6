// The RTM side of the simulator, wiring tickets, links, deliveries and faults together.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { AppLinks } from './app-links';
import type { SimulatorCounters } from './counters';
import { DeliveryLedger } from './delivery-ledger';
import { LinkAvailability, type LinkLogEntry } from './link-availability';
import { noFaults, type Target } from './rtm-faults';
import { helloFrame, rawToString } from './rtm-frames';
import { closeLink, flushLink, sendText } from './rtm-link';
import { RtmTickets } from './rtm-tickets';
import type { SimulatorOptions } from './simulator-options';

export type { Target };
export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

/**
 * The RTM side of the simulator (docs/clickdesk-contract.md §2): single-use tickets, hello,
 * envelopes spread over an app's links, the ack deadline with redelivery, disconnect
 * notices, ping/pong, and the faults tests need.
 */
export class RtmHub {
  readonly faults = noFaults();
  disabled = false;
  /**
   * Every change of the app's links, in order: when, how many are open and how many ClickDesk
   * can deliver on (open, not told to go). Tests read the fleet's links over time from it.
   */
  readonly linkLog: LinkLogEntry[];
  /** When each RTM ticket was issued (each a successful `apps.connections.open`), in order. */
  readonly ticketsIssuedAt: number[];
  /** Called whenever a link opens or closes, with the number now open (for tests and logs). */
  onLinksChanged: ((open: number) => void) | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false, maxPayload: 64 * 1024 });
  private readonly tickets: RtmTickets;
  private readonly links: AppLinks;
  private readonly availability = new LinkAvailability();
  private readonly deliveries: DeliveryLedger;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly opts: SimulatorOptions,
    private readonly counters: () => SimulatorCounters,
  ) {
    this.tickets = new RtmTickets(opts.ticketTtlMs);
    this.ticketsIssuedAt = this.tickets.issuedAt;
    this.linkLog = this.availability.log;
    this.links = new AppLinks(opts.maxConnections);
    this.deliveries = new DeliveryLedger(opts, this.links, this.faults, counters);
    this.every(opts.pingIntervalMs, () => this.pingAll());
  }

  /** `apps.connections.open`: a URL with a ticket that works once, within the TTL. */
  issueTicket(baseWsUrl: string): string {
    return `${baseWsUrl}?ticket=${this.tickets.issue()}`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket') ?? '';
    if (!this.tickets.redeem(ticket) || this.disabled) {
      this.counters().upgradesRefused += 1;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket));
  }

  get openLinks(): number {
    return this.links.open;
  }

  /** Events published and not yet acknowledged or expired (sent, or waiting for a link). Never negative. */
  get unsettled(): number {
    return this.deliveries.unsettled;
  }

  /** Links ClickDesk can deliver on: open and not told to go. */
  get deliverableLinks(): number {
    return this.links.deliverable;
  }

  /** The longest time, in ms since `resetTracking()`, with no link to deliver on (the current gap included). */
  get longestGapMs(): number {
    return this.availability.longestGapMs;
  }

  publish(teamId: string, event: Record<string, unknown>): string {
    return this.deliveries.publish(teamId, event);
  }

  /**
   * Sends a `disconnect` notice. A link is told to go once: after a notice it delivers nothing
   * more (contract §2.5), so a later notice for it has nothing to say and is not sent; `target`
   * chooses among the links not yet notified. `link_disabled` goes to every link. Returns the
   * number of links notified.
   */
  disconnect(reason: DisconnectReason, target: Target = 'all'): number {
    if (reason === 'link_disabled') this.disabled = true;
    const chosen = reason === 'link_disabled' ? this.links.pick('all') : this.links.pick(target, true);
    for (const link of chosen) {
      link.receiving = false;
      sendText(link, JSON.stringify({ type: 'disconnect', reason }));
      if (reason === 'warning') this.after(this.opts.warningCloseMs, () => closeLink(link, 'refreshed'));
      else if (reason === 'refresh_requested')
        this.after(this.opts.refreshGraceMs, () => link.ws.terminate());
      else closeLink(link, reason);
    }
    this.noteLinks();
    this.deliveries.pump();
    return chosen.length;
  }

  /** Cuts the TCP connection without a close frame. */
  closeAbruptly(target: Target = 'all'): number {
    const chosen = this.links.pick(target);
    for (const link of chosen) link.ws.terminate();
    return chosen.length;
  }

  /** Sends frames exactly as given (e.g. malformed ones) to the chosen links. */
  sendRaw(frames: string[], target: Target = 'all'): number {
    const chosen = this.links.pick(target);
    for (const link of chosen) for (const f of frames) sendText(link, f);
    return chosen.length;
  }

  setStall(on: boolean): void {
    this.faults.stall = on;
    if (!on) this.deliveries.pump();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.deliveries.close();
    for (const link of this.links) link.ws.terminate();
    this.wss.close();
  }

  resetTracking(): void {
    this.availability.reset(this.links.deliverable);
  }

  private accept(ws: WebSocket, socket: Duplex): void {
    const link = this.links.admit(ws, socket, (n) => helloFrame(this.opts.appId, n));
    if (!link) return;
    this.counters().connectionsOpened += 1;
    this.onLinksChanged?.(this.links.open);
    ws.on('ping', (data) => {
      flushLink(link);
      if (!this.faults.withholdPongs && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('pong', () => {
      link.alive = true;
    });
    ws.on('message', (data, isBinary) => this.deliveries.receiveFrame(isBinary ? null : rawToString(data)));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.links.remove(link);
      this.noteLinks();
      this.onLinksChanged?.(this.links.open);
    });
    sendText(link, JSON.stringify(helloFrame(this.opts.appId, this.links.open)));
    this.noteLinks();
    this.deliveries.pump();
  }

  private noteLinks(): void {
    this.availability.note(this.links.open, this.links.deliverable);
  }

  private pingAll(): void {
    if (this.faults.stall) return;
    for (const link of this.links) {
      if (!link.alive) {
        link.ws.terminate();
        continue;
      }
      link.alive = false;
      flushLink(link);
      if (link.ws.readyState === WebSocket.OPEN) link.ws.ping();
    }
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
