import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { encodeAckFrames } from './ack-frames';
import { parseFrame, type DisconnectReason, type Frame } from './wire';
import { CodedError } from '../errors';

type EnvelopeFrame = Extract<Frame, { kind: 'envelope' }>;

export interface RtmConnectionOptions {
  url: string;
  /** A short label for logs, e.g. "slot1#3". */
  label: string;
  pingIntervalMs: number;
  /** A ping unanswered this long is a lost pong; two lost in a row mean a dead link. */
  pongTimeoutMs: number;
  /** No frame and no server ping for this long means a silent stall. */
  stallTimeoutMs: number;
  helloTimeoutMs: number;
  logger: Logger;
  onEnvelope: (envelope: EnvelopeFrame, connection: RtmConnection) => void;
  /** The first `disconnect` notice of this link (later ones carry nothing new), and any `link_disabled`. */
  onNotice: (reason: DisconnectReason, connection: RtmConnection) => void;
  onProtocolError: (problem: string, connection: RtmConnection) => void;
  onClose: (connection: RtmConnection, why: CloseReason) => void;
}

/** How a link can end (the reconnect reasons of metrics, with the server's disconnect notices). */
export const CLOSE_REASONS = [
  'closed_by_server',
  'closed_by_client',
  'pong_timeout',
  'stalled',
  'socket_error',
  'hello_timeout',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Pongs lost in a row that make a link dead: one lost pong (a slow network, a busy peer) is tolerated. */
const DEAD_AFTER_LOST_PONGS = 2;

/**
 * One RTM WebSocket: waits for `hello`, passes envelopes up, sends acks, and watches the link
 * with a single interval timer for its whole life, whatever the server sends: the hello
 * deadline, client pings (two lost pongs in a row are a dead link) and the stall watchdog
 * (silence from the server for `stallTimeoutMs`). A dead link is terminated and `onClose`
 * says why.
 */
export class RtmConnection {
  /** Resolves on the first `hello`; rejects if the socket ends or a notice arrives first. */
  readonly ready: Promise<void>;
  private readonly ws: WebSocket;
  private readonly ticker: NodeJS.Timeout;
  private readonly openedAt = Date.now();
  private closeReason: CloseReason | undefined;
  private lastHeard = Date.now();
  private helloed = false;
  private nextPingAt = 0;
  /** When the unanswered ping went out; 0 when none is outstanding. */
  private pingSentAt = 0;
  private lostPongs = 0;
  private noticeReason: DisconnectReason | undefined;
  private inflight = 0;
  private inflightDrained: (() => void) | undefined;
  private receiving = true;
  private closed = false;
  private settleReady: (err?: Error) => void = () => undefined;
  /** The TCP socket under the WebSocket (from the upgrade response): acks are written to it in one piece. */
  private socket: Duplex | undefined;
  private pendingAcks: string[] = [];
  private flushScheduled = false;

  constructor(private readonly opts: RtmConnectionOptions) {
    // UTF-8 is not checked frame by frame: a frame that is not valid JSON is a protocol error anyway.
    this.ws = new WebSocket(opts.url, {
      handshakeTimeout: opts.helloTimeoutMs,
      maxPayload: 1024 * 1024,
      skipUTF8Validation: true,
      // Acks go straight to the socket as finished frames (ack-frames.ts): nothing ws sends may be
      // compressed or queued behind them.
      perMessageDeflate: false,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settleReady = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
    // The gateway awaits `ready`; this keeps an early failure from being an unhandled rejection.
    this.ready.catch(() => undefined);

    const shortest = Math.min(
      opts.pingIntervalMs,
      opts.pongTimeoutMs,
      opts.stallTimeoutMs,
      opts.helloTimeoutMs,
    );
    this.ticker = setInterval(() => this.tick(), Math.max(20, Math.floor(shortest / 4)));
    this.ws.on('upgrade', (res) => {
      this.socket = res.socket;
    });
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('ping', () => {
      this.lastHeard = Date.now();
    });
    this.ws.on('pong', () => {
      this.pingSentAt = 0;
      this.lostPongs = 0;
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.closeReason ??= 'socket_error';
      this.settleReady(
        new CodedError('RTM_CONNECT_FAILED', `RTM upgrade refused with HTTP ${res.statusCode}`),
      );
      this.ws.terminate();
    });
    this.ws.on('error', (err) => {
      this.closeReason ??= 'socket_error';
      opts.logger.debug({ connection: opts.label, err: err.message }, 'rtm socket error');
    });
    this.ws.on('close', () => {
      clearInterval(this.ticker);
      this.closed = true;
      this.receiving = false;
      this.settleReady(new CodedError('RTM_CONNECT_FAILED', 'socket closed before hello'));
      opts.onClose(this, this.closeReason ?? 'closed_by_server');
    });
  }

  get label(): string {
    return this.opts.label;
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** The reason of the first `disconnect` notice, if the server sent one. */
  get notice(): DisconnectReason | undefined {
    return this.noticeReason;
  }

  /** Open, said hello, not told to go: ClickDesk can deliver envelopes on it. */
  get deliverable(): boolean {
    return this.helloed && this.noticeReason === undefined && this.receiving && this.isOpen;
  }

  /** Counts an envelope being recorded, so a graceful close waits for its ack. */
  beginIntake(): void {
    this.inflight += 1;
  }

  endIntake(): void {
    this.inflight -= 1;
    if (this.inflight === 0) this.inflightDrained?.();
  }

  /**
   * Queues the ack of an envelope that has been recorded; the acks that become ready together
   * leave in one TCP write (each still its own frame, each sent only after its own record).
   * The write is a microtask queued at the first ack: it follows the acks of envelopes that
   * arrived in the same read and precedes the handlers those acks started, so ClickDesk is
   * answered before the bot's work, not after it. False if the link is no longer open.
   */
  ack(envelopeId: string): boolean {
    if (!this.isOpen) return false;
    this.pendingAcks.push(envelopeId);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushAcks);
    }
    return true;
  }

  /** Stops passing up new envelopes (they go unacknowledged and are redelivered). */
  stopReceiving(): void {
    this.receiving = false;
  }

  /** Stops intake, waits (up to `waitMs`) for in-flight envelopes to be acknowledged, closes with 1000. */
  async retire(waitMs: number): Promise<void> {
    this.receiving = false;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.inflightDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.closeReason ??= 'closed_by_client';
    this.flushAcks();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000, 'bye');
    if (!this.closed) {
      // A peer that never answers the close handshake is cut off.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.ws.terminate();
          resolve();
        }, 2_000);
        this.ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  terminate(reason: CloseReason): void {
    this.closeReason ??= reason;
    this.ws.terminate();
  }

  private readonly flushAcks = (): void => {
    this.flushScheduled = false;
    const ids = this.pendingAcks;
    if (ids.length === 0) return;
    this.pendingAcks = [];
    if (!this.isOpen) return;
    if (this.socket) {
      this.socket.write(encodeAckFrames(ids));
      return;
    }
    for (const id of ids) this.ws.send(`{"envelope_id":${JSON.stringify(id)}}`);
  };

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastHeard = Date.now();
    if (isBinary) {
      this.opts.onProtocolError('binary frame', this);
      return;
    }
    const frame = parseFrame(rawToString(data));
    switch (frame.kind) {
      case 'hello':
        // Only the first hello counts; repeats change nothing and start nothing.
        if (this.helloed) return;
        this.helloed = true;
        this.nextPingAt = Date.now() + this.opts.pingIntervalMs;
        this.settleReady();
        return;
      case 'disconnect':
        if (this.noticeReason !== undefined && frame.reason !== 'link_disabled') return;
        this.noticeReason ??= frame.reason;
        this.receiving = false;
        this.settleReady(new CodedError('RTM_CONNECT_FAILED', `disconnected before hello: ${frame.reason}`));
        this.opts.onNotice(frame.reason, this);
        return;
      case 'envelope':
        if (!this.receiving) return; // not acknowledged: ClickDesk delivers it again elsewhere
        this.opts.onEnvelope(frame, this);
        return;
      case 'invalid':
        this.opts.onProtocolError(frame.problem, this);
        return;
    }
  }

  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    if (!this.helloed) {
      if (now - this.openedAt >= this.opts.helloTimeoutMs) this.terminate('hello_timeout');
      return;
    }
    if (now - this.lastHeard > this.opts.stallTimeoutMs) {
      this.terminate('stalled');
      return;
    }
    if (this.pingSentAt !== 0 && now - this.pingSentAt >= this.opts.pongTimeoutMs) {
      this.pingSentAt = 0;
      this.lostPongs += 1;
      if (this.lostPongs >= DEAD_AFTER_LOST_PONGS) {
        this.terminate('pong_timeout');
        return;
      }
      this.nextPingAt = now; // ask again at once rather than a full interval later
    }
    if (this.pingSentAt === 0 && now >= this.nextPingAt && this.isOpen) {
      this.ws.ping();
      this.pingSentAt = now;
      this.nextPingAt = now + this.opts.pingIntervalMs;
    }
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
