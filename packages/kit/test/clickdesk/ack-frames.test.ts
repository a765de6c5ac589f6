import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { encodeAckFrames } from '../../src/clickdesk/ack-frames';

/**
 * Writes `bytes` on a raw TCP connection upgraded to a WebSocket on a real `ws` server (which
 * refuses unmasked client frames) and returns the messages the server read.
 */
async function serverReads(bytes: Buffer, count: number): Promise<Array<{ text: string; binary: boolean }>> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const out: Array<{ text: string; binary: boolean }> = [];
  const received = new Promise<void>((resolve, reject) => {
    wss.on('connection', (ws) => {
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`server closed the link with ${code}`)));
      ws.on('message', (data: Buffer, isBinary) => {
        out.push({ text: data.toString('utf8'), binary: isBinary });
        if (out.length === count) resolve();
      });
    });
  });
  const socket = net.connect((wss.address() as AddressInfo).port, '127.0.0.1');
  try {
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await once(socket, 'data'); // 101 Switching Protocols
    socket.write(bytes);
    await received;
    return out;
  } finally {
    socket.destroy();
    for (const client of wss.clients) client.terminate();
    await new Promise((r) => wss.close(r));
  }
}

describe('encodeAckFrames', () => {
  it('writes one masked text frame per envelope id, each the JSON ack of that id', async () => {
    const ids = [
      '9e3c5a8e-3c1e-4f0a-9d55-6f4c1b2a7e10',
      'x'.repeat(200), // a frame over 125 bytes: 16-bit length
      'é"\\\u2028🙂', // escapes and multi-byte UTF-8
      'a',
    ];
    const frames = await serverReads(encodeAckFrames(ids), ids.length);
    expect(frames).toEqual(ids.map((id) => ({ text: JSON.stringify({ envelope_id: id }), binary: false })));
  });

  it('masks every frame with a key of its own', () => {
    const bytes = encodeAckFrames(['same', 'same']);
    const frameLength = bytes.length / 2;
    expect(bytes[1]! & 0x80).toBe(0x80);
    expect(bytes[frameLength + 1]! & 0x80).toBe(0x80);
    expect(bytes.subarray(2, 6).equals(bytes.subarray(frameLength + 2, frameLength + 6))).toBe(false);
  });
});
