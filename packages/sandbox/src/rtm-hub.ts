import { randomFillSync, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { SimulatorCounters } from './counters';
import type { SimulatorOptions } from './simulator-options';
import { encodeTextFrames } from './text-frames';

export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';
/** Which open links a fault applies to. */
export type Target = 'all' | 'oldest' | 'newest';

interface Link {
  id: number;
  ws: WebSocket;
  /** The TCP socket under `ws`: the text frames of one turn are written to it together. */
  socket: Duplex;
  /** Text frames to write at the end of this turn, in order. */
  pending: string[];
  receiving: boolean;
  alive: boolean;
}

interface Delivery {
  eventId: string;
  teamId: string;
  eventTime: number;
  /** The event, until the payload is serialized at its first sending (then kept for redeliveries). */
  event: Record<string, unknown> | undefined;
  payloadJson: string | undefined;
  attempt: number;
  envelopeIds: string[];
  /** When the ack of the latest sending is due (performance.now() ms); 0 when not sent. */
  due: number;
  duplicate: boolean;
  /** Waiting in the queue for a link (first delivery or a redelivery). */
  queued: boolean;
  /** Acknowledged or expired: never sent again, never counted again. */
  settled: boolean;
}

/** Entries kept in the link and ticket logs (the newest). */
const LOG_LIMIT = 10_000;

/**
 * The RTM side of the simulator (docs/clickdesk-contract.md §2): single-use tickets, hello,
 * envelopes spread over an app's links, the ack deadline with redelivery, disconnect
 * notices, ping/pong, and the faults tests need.
 */
export class RtmHub {
  readonly faults = { withholdPongs: false, withholdAcks: false, stall: false, duplicateNext: 0 };
  disabled = false;
  /**
   * Every change of the app's links, in order: when, how many are open and how many ClickDesk
   * can deliver on (open, not told to go). Tests read the fleet's links over time from it.
   */
  readonly linkLog: Array<{ at: number; open: number; deliverable: number }> = [];
  /** When each RTM ticket was issued (each a successful `apps.connections.open`), in order. */
  readonly ticketsIssuedAt: number[] = [];
  /** Called whenever a link opens or closes, with the number now open (for tests and logs). */
  onLinksChanged: ((open: number) => void) | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false, maxPayload: 64 * 1024 });
  private readonly tickets = new Map<string, number>();
  private readonly links: Link[] = [];
  private readonly outstanding = new Map<string, Delivery>();
  private readonly queue = new Fifo<Delivery>();
  /** Deliveries not yet settled, queued ones included. */
  private inflight = 0;
  /** Of those, how many wait in the queue (the queue may also hold settled ones, skipped when reached). */
  private queued = 0;
  private gapStartedAt: number | undefined = Date.now();
  private longestGap = 0;
  private nextLinkId = 1;
  private roundRobin = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Sent deliveries in the order their acks come due, with those due times (see armDeadline). */
  private readonly awaitingAck = new Fifo<Delivery>();
  private readonly dueAt = new Fifo<number>();
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: SimulatorOptions,
    private readonly counters: () => SimulatorCounters,
  ) {
    this.every(opts.pingIntervalMs, () => this.pingAll());
  }

  /** `apps.connections.open`: a URL with a ticket that works once, within the TTL. */
  issueTicket(baseWsUrl: string): string {
    const ticket = randomUUID();
    this.ticketsIssuedAt.push(Date.now());
    if (this.ticketsIssuedAt.length > LOG_LIMIT) this.ticketsIssuedAt.shift();
    this.tickets.set(ticket, Date.now() + this.opts.ticketTtlMs);
    return `${baseWsUrl}?ticket=${ticket}`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket') ?? '';
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (expires === undefined || expires < Date.now() || this.disabled) {
      this.counters().upgradesRefused += 1;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket));
  }

  get openLinks(): number {
    return this.links.length;
  }

  /** Events published and not yet acknowledged or expired (sent, or waiting for a link). Never negative. */
  get unsettled(): number {
    return this.inflight;
  }

  /** Links ClickDesk can deliver on: open and not told to go. */
  get deliverableLinks(): number {
    let n = 0;
    for (const l of this.links) if (l.receiving && l.ws.readyState === WebSocket.OPEN) n += 1;
    return n;
  }

  /** The longest time, in ms since `resetTracking()`, with no link to deliver on (the current gap included). */
  get longestGapMs(): number {
    const current = this.gapStartedAt === undefined ? 0 : Date.now() - this.gapStartedAt;
    return Math.max(this.longestGap, current);
  }

  publish(teamId: string, event: Record<string, unknown>): string {
    const eventId = `Ev${randomHex(10).toUpperCase()}`;
    this.counters().eventsPublished += 1;
    const duplicate = this.faults.duplicateNext > 0;
    if (duplicate) this.faults.duplicateNext -= 1;
    this.inflight += 1;
    this.send({
      eventId,
      teamId,
      eventTime: Math.floor(Date.now() / 1000),
      event,
      payloadJson: undefined,
      attempt: 0,
      envelopeIds: [],
      due: 0,
      duplicate,
      queued: false,
      settled: false,
    });
    return eventId;
  }

  /**
   * Sends a `disconnect` notice. A link is told to go once: after a notice it delivers nothing
   * more (contract §2.5), so a later notice for it has nothing to say and is not sent; `target`
   * chooses among the links not yet notified. `link_disabled` goes to every link. Returns the
   * number of links notified.
   */
  disconnect(reason: DisconnectReason, target: Target = 'all'): number {
    if (reason === 'link_disabled') this.disabled = true;
    const chosen = reason === 'link_disabled' ? [...this.links] : this.pick(target, true);
    for (const link of chosen) {
      link.receiving = false;
      this.sendText(link, JSON.stringify({ type: 'disconnect', reason }));
      if (reason === 'warning') this.after(this.opts.warningCloseMs, () => this.close1000(link, 'refreshed'));
      else if (reason === 'refresh_requested')
        this.after(this.opts.refreshGraceMs, () => link.ws.terminate());
      else this.close1000(link, reason);
    }
    this.noteLinks();
    this.pump();
    return chosen.length;
  }

  /** Cuts the TCP connection without a close frame. */
  closeAbruptly(target: Target = 'all'): number {
    const chosen = this.pick(target);
    for (const link of chosen) link.ws.terminate();
    return chosen.length;
  }

  /** Sends frames exactly as given (e.g. malformed ones) to the chosen links. */
  sendRaw(frames: string[], target: Target = 'all'): number {
    const chosen = this.pick(target);
    for (const link of chosen) for (const f of frames) this.sendText(link, f);
    return chosen.length;
  }

  setStall(on: boolean): void {
    this.faults.stall = on;
    if (!on) this.pump();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.deadlineTimer);
    for (const link of this.links) link.ws.terminate();
    this.wss.close();
  }

  resetTracking(): void {
    this.longestGap = 0;
    this.gapStartedAt = this.deliverableLinks === 0 ? Date.now() : undefined;
  }

  private accept(ws: WebSocket, socket: Duplex): void {
    if (this.links.length >= this.opts.maxConnections) {
      // Contract §2.5: the connection opens, says hello, and is then told why it cannot stay.
      ws.on('error', () => undefined);
      sendJson(ws, this.hello(this.links.length + 1));
      sendJson(ws, { type: 'disconnect', reason: 'too_many_websockets' });
      ws.close(1008, 'too_many_websockets');
      return;
    }
    const link: Link = { id: this.nextLinkId++, ws, socket, pending: [], receiving: true, alive: true };
    this.links.push(link);
    this.counters().connectionsOpened += 1;
    this.onLinksChanged?.(this.links.length);
    ws.on('ping', (data) => {
      this.flush(link);
      if (!this.faults.withholdPongs && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('pong', () => {
      link.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onClientFrame(isBinary ? null : rawToString(data)));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      link.receiving = false;
      const i = this.links.indexOf(link);
      if (i >= 0) this.links.splice(i, 1);
      this.noteLinks();
      this.onLinksChanged?.(this.links.length);
    });
    this.sendText(link, JSON.stringify(this.hello(this.links.length)));
    this.noteLinks();
    this.pump();
  }

  private hello(connections: number): Record<string, unknown> {
    return {
      type: 'hello',
      num_connections: connections,
      connection_info: { app_id: this.opts.appId },
      debug_info: { approximate_connection_time: 3600 },
    };
  }

  /** Tracks the gaps with no link to deliver on. */
  private noteLinks(): void {
    const deliverable = this.deliverableLinks;
    const last = this.linkLog.at(-1);
    if (last?.open !== this.links.length || last.deliverable !== deliverable) {
      this.linkLog.push({ at: Date.now(), open: this.links.length, deliverable });
      if (this.linkLog.length > LOG_LIMIT) this.linkLog.shift();
    }
    const none = deliverable === 0;
    if (none && this.gapStartedAt === undefined) this.gapStartedAt = Date.now();
    else if (!none && this.gapStartedAt !== undefined) {
      this.longestGap = Math.max(this.longestGap, Date.now() - this.gapStartedAt);
      this.gapStartedAt = undefined;
    }
  }

  private onClientFrame(text: string | null): void {
    let envelopeId: unknown;
    if (text !== null && isPlainAck(text)) {
      // One of this hub's ids (UUIDs) between the quotes: the frame is the JSON of that id.
      const id = text.slice(ACK_PREFIX.length, -2);
      if (this.outstanding.has(id)) envelopeId = id;
    }
    if (envelopeId === undefined) {
      try {
        envelopeId = text === null ? undefined : (JSON.parse(text) as { envelope_id?: unknown }).envelope_id;
      } catch {
        envelopeId = undefined;
      }
    }
    if (typeof envelopeId !== 'string') {
      this.counters().protocolErrors += 1;
      return;
    }
    const delivery = this.outstanding.get(envelopeId);
    if (!delivery) return; // late or unknown: harmless
    if (this.faults.withholdAcks) {
      this.counters().acksWithheld += 1;
      return;
    }
    this.counters().acks += 1;
    this.settle(delivery, true);
  }

  private send(d: Delivery): void {
    if (d.settled) return;
    const copies = d.duplicate && d.attempt === 0 ? 2 : 1;
    let sent = 0;
    for (let i = 0; i < copies; i++) {
      const link = this.nextReceivingLink();
      if (!link) break;
      const payloadJson = (d.payloadJson ??= this.payloadJson(d));
      d.event = undefined;
      const envelopeId = randomUUID();
      d.envelopeIds.push(envelopeId);
      this.outstanding.set(envelopeId, d);
      sent += 1;
      // The frame JSON.stringify would give for { envelope_id, type, accepts_response_payload,
      // retry_attempt, retry_reason, payload }, with the payload serialized once per event.
      this.sendText(
        link,
        `{"envelope_id":"${envelopeId}","type":"events_api","accepts_response_payload":false,` +
          `"retry_attempt":${d.attempt},"retry_reason":"${d.attempt > 0 ? 'timeout' : ''}",` +
          `"payload":${payloadJson}}`,
      );
      this.counters().envelopesDelivered += 1;
      if (d.attempt > 0) this.counters().envelopesRedelivered += 1;
    }
    if (sent === 0) {
      d.queued = true;
      this.queued += 1;
      this.queue.push(d);
      return;
    }
    d.due = performance.now() + this.opts.ackTimeoutMs;
    this.awaitingAck.push(d);
    this.dueAt.push(d.due);
    this.armDeadline();
  }

  /**
   * The envelope's `payload`: what JSON.stringify gives for { type: 'event_callback', team_id,
   * api_app_id, event_id, event_time, event }. Made at the first sending, not at publishing, so
   * a flood's queued events hold no text yet.
   */
  private payloadJson(d: Delivery): string {
    return (
      `{"type":"event_callback","team_id":${JSON.stringify(d.teamId)},` +
      `"api_app_id":${JSON.stringify(this.opts.appId)},"event_id":"${d.eventId}",` +
      `"event_time":${d.eventTime},"event":${JSON.stringify(d.event)}}`
    );
  }

  /**
   * One timer for every ack deadline: the timeout is the same for all, so deliveries come due
   * in the order they were sent. An entry whose delivery was settled or sent again since is
   * skipped when reached.
   */
  private armDeadline(): void {
    const next = this.dueAt.peek();
    if (this.deadlineTimer !== undefined || next === undefined) return;
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = undefined;
        const now = performance.now();
        for (let due = this.dueAt.peek(); due !== undefined && due <= now; due = this.dueAt.peek()) {
          this.dueAt.shift();
          const d = this.awaitingAck.shift();
          if (d && !d.settled && d.due === due) this.onAckTimeout(d);
        }
        this.armDeadline();
      },
      Math.max(0, Math.ceil(next - performance.now())),
    );
  }

  private onAckTimeout(d: Delivery): void {
    if (d.settled) return;
    if (d.attempt < this.opts.maxRetries) {
      d.attempt += 1;
      this.send(d);
      return;
    }
    // Never acknowledged: an acknowledged delivery is settled, and its deadline skipped.
    this.counters().eventsExpired += 1;
    this.settle(d, false);
  }

  /**
   * Settles a delivery once. A late ack can arrive while its redelivery waits in the queue: the
   * delivery is settled then and there, and the queued entry is skipped when reached, so an
   * acknowledged event is never delivered again and nothing is counted twice.
   */
  private settle(d: Delivery, acked: boolean): void {
    if (d.settled) return;
    d.settled = true;
    if (d.queued) {
      d.queued = false;
      this.queued -= 1;
    }
    for (const id of d.envelopeIds) this.outstanding.delete(id);
    d.envelopeIds.length = 0;
    // Its deadline entry holds it until due: keep nothing heavy that long.
    d.event = undefined;
    d.payloadJson = undefined;
    // One delivery per event, settled once: each acknowledged event is counted once.
    if (acked) this.counters().eventsAcked += 1;
    this.inflight -= 1;
    this.pump();
  }

  /** Sends queued deliveries while links and the in-flight window allow. */
  private pump(): void {
    while (
      this.queue.length > 0 &&
      !this.faults.stall &&
      this.inflight - this.queued < this.opts.maxInFlight
    ) {
      if (!this.links.some((l) => l.receiving)) return;
      const d = this.queue.shift();
      if (!d) return;
      if (d.settled) continue;
      d.queued = false;
      this.queued -= 1;
      this.send(d);
    }
  }

  /** Round robin over the links that are open and not told to go. */
  private nextReceivingLink(): Link | undefined {
    if (this.faults.stall) return undefined;
    if (this.inflight - this.queued > this.opts.maxInFlight) return undefined;
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

  /**
   * Sends a text frame. The frames sent to a link in one turn of the event loop leave in one
   * TCP write (each still its own frame), as a busy server's would; anything else sent on the
   * link (close, ping, pong) goes after them.
   */
  private sendText(link: Link, text: string): void {
    if (link.ws.readyState !== WebSocket.OPEN) return;
    if (link.pending.length === 0) process.nextTick(this.flush, link);
    link.pending.push(text);
  }

  private readonly flush = (link: Link): void => {
    if (link.pending.length === 0) return;
    const texts = link.pending;
    link.pending = [];
    if (link.ws.readyState === WebSocket.OPEN) link.socket.write(encodeTextFrames(texts));
  };

  private close1000(link: Link, reason: string): void {
    this.flush(link);
    link.ws.close(1000, reason);
  }

  private pick(target: Target, notNotified = false): Link[] {
    const links = notNotified ? this.links.filter((l) => l.receiving) : this.links;
    if (target === 'all') return [...links];
    const link = target === 'oldest' ? links[0] : links[links.length - 1];
    return link ? [link] : [];
  }

  private pingAll(): void {
    if (this.faults.stall) return;
    for (const link of this.links) {
      if (!link.alive) {
        link.ws.terminate();
        continue;
      }
      link.alive = false;
      this.flush(link);
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

const ACK_PREFIX = '{"envelope_id":"';

/** Shaped as JSON.stringify({ envelope_id }) writes an id that needs no escaping. */
function isPlainAck(text: string): boolean {
  return (
    text.length > ACK_PREFIX.length + 2 &&
    text.startsWith(ACK_PREFIX) &&
    text.endsWith('"}') &&
    text.indexOf('"', ACK_PREFIX.length) === text.length - 2 &&
    !text.includes('\\')
  );
}

const randomPool = Buffer.alloc(4096);
let randomAt = randomPool.length;

/** `bytes` random bytes as hex, from a pool refilled 4 KiB at a time. */
function randomHex(bytes: number): string {
  if (randomAt + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  randomAt += bytes;
  return randomPool.toString('hex', randomAt - bytes, randomAt);
}

function sendJson(ws: WebSocket, value: unknown): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** A queue with O(1) shift (Array#shift is O(n), which a 100,000-event flood turns quadratic). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
