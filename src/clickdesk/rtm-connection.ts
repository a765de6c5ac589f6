import WebSocket from 'ws';
import type { Logger } from 'pino';
import { parseFrame, type DisconnectReason, type Frame } from './wire';
import { CodedError } from '../errors';

type EnvelopeFrame = Extract<Frame, { kind: 'envelope' }>;

export interface RtmConnectionOptions {
  url: string;
  /** A short label for logs, e.g. "slot1#3". */
  label: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** No frame and no server ping for this long means a silent stall. */
  stallTimeoutMs: number;
  helloTimeoutMs: number;
  logger: Logger;
  onEnvelope: (envelope: EnvelopeFrame, connection: RtmConnection) => void;
  onNotice: (reason: DisconnectReason, connection: RtmConnection) => void;
  onProtocolError: (problem: string, connection: RtmConnection) => void;
  onClose: (connection: RtmConnection, why: CloseReason) => void;
}

export type CloseReason =
  'closed_by_server' | 'closed_by_client' | 'pong_timeout' | 'stalled' | 'socket_error' | 'hello_timeout';

/**
 * One RTM WebSocket: waits for `hello`, passes envelopes up, sends acks, and watches the
 * link: a ping without a pong within `pongTimeoutMs` is a dead link; silence from the
 * server for `stallTimeoutMs` is a stall. Either way the socket is terminated and
 * `onClose` says why.
 */
export class RtmConnection {
  /** Resolves on `hello`; rejects if the socket ends or a notice arrives first. */
  readonly ready: Promise<void>;
  private readonly ws: WebSocket;
  private closeReason: CloseReason | undefined;
  private lastHeard = Date.now();
  private pongDeadline: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private inflight = 0;
  private inflightDrained: (() => void) | undefined;
  private receiving = true;
  private closed = false;

  constructor(private readonly opts: RtmConnectionOptions) {
    this.ws = new WebSocket(opts.url, { handshakeTimeout: opts.helloTimeoutMs, maxPayload: 1024 * 1024 });
    let settleReady: (err?: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      settleReady = (err) => (err ? reject(err) : resolve());
    });
    // The gateway awaits `ready`; this keeps an early failure from being an unhandled rejection.
    this.ready.catch(() => undefined);

    const helloTimer = setTimeout(() => this.terminate('hello_timeout'), opts.helloTimeoutMs);
    this.ws.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      if (isBinary) {
        opts.onProtocolError('binary frame', this);
        return;
      }
      const frame = parseFrame(rawToString(data));
      switch (frame.kind) {
        case 'hello':
          clearTimeout(helloTimer);
          this.startHeartbeat();
          settleReady();
          return;
        case 'disconnect':
          settleReady(new CodedError('RTM_CONNECT_FAILED', `disconnected before hello: ${frame.reason}`));
          this.receiving = false;
          opts.onNotice(frame.reason, this);
          return;
        case 'envelope':
          if (!this.receiving) return; // not acknowledged: ClickDesk delivers it again elsewhere
          opts.onEnvelope(frame, this);
          return;
        case 'invalid':
          opts.onProtocolError(frame.problem, this);
          return;
      }
    });
    this.ws.on('ping', () => {
      this.lastHeard = Date.now();
    });
    this.ws.on('pong', () => {
      clearTimeout(this.pongDeadline);
      this.pongDeadline = undefined;
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.closeReason ??= 'socket_error';
      settleReady(new CodedError('RTM_CONNECT_FAILED', `RTM upgrade refused with HTTP ${res.statusCode}`));
      this.ws.terminate();
    });
    this.ws.on('error', (err) => {
      this.closeReason ??= 'socket_error';
      opts.logger.debug({ connection: opts.label, err: err.message }, 'rtm socket error');
    });
    this.ws.on('close', () => {
      clearTimeout(helloTimer);
      this.stopTimers();
      this.closed = true;
      this.receiving = false;
      settleReady(new CodedError('RTM_CONNECT_FAILED', 'socket closed before hello'));
      opts.onClose(this, this.closeReason ?? 'closed_by_server');
    });
  }

  get label(): string {
    return this.opts.label;
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Counts an envelope being recorded, so a graceful close waits for its ack. */
  beginIntake(): void {
    this.inflight += 1;
  }

  endIntake(): void {
    this.inflight -= 1;
    if (this.inflight === 0) this.inflightDrained?.();
  }

  ack(envelopeId: string): boolean {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify({ envelope_id: envelopeId }));
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

  private startHeartbeat(): void {
    const { pingIntervalMs, pongTimeoutMs, stallTimeoutMs } = this.opts;
    this.timers.push(
      setInterval(() => {
        if (!this.isOpen || this.pongDeadline) return;
        this.ws.ping();
        this.pongDeadline = setTimeout(() => this.terminate('pong_timeout'), pongTimeoutMs);
      }, pingIntervalMs),
      setInterval(
        () => {
          if (Date.now() - this.lastHeard > stallTimeoutMs) this.terminate('stalled');
        },
        Math.max(50, Math.floor(stallTimeoutMs / 4)),
      ),
    );
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.pongDeadline);
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
