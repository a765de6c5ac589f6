// One RTM link (an accepted WebSocket) and how text frames are written to it.
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { encodeTextFrames } from './text-frames';

export interface RtmLink {
  id: number;
  ws: WebSocket;
  /** The TCP socket under `ws`: the text frames of one turn are written to it together. */
  socket: Duplex;
  /** Text frames to write at the end of this turn, in order. */
  pending: string[];
  /** Open and not told to go: ClickDesk may deliver on it. */
  receiving: boolean;
  /** Answered the latest ping (or has had none yet). */
  alive: boolean;
}

/**
 * Sends a text frame. The frames sent to a link in one turn of the event loop leave in one
 * TCP write (each still its own frame), as a busy server's would; anything else sent on the
 * link (close, ping, pong) goes after them, so call `flushLink` first.
 */
export function sendText(link: RtmLink, text: string): void {
  if (link.ws.readyState !== WebSocket.OPEN) return;
  if (link.pending.length === 0) process.nextTick(flushLink, link);
  link.pending.push(text);
}

/** Writes the text frames waiting for the end of this turn now. */
export function flushLink(link: RtmLink): void {
  if (link.pending.length === 0) return;
  const texts = link.pending;
  link.pending = [];
  if (link.ws.readyState === WebSocket.OPEN) link.socket.write(encodeTextFrames(texts));
}

/** Closes with 1000 after the frames already sent. */
export function closeLink(link: RtmLink, reason: string): void {
  flushLink(link);
  link.ws.close(1000, reason);
}
