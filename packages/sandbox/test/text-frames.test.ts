import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeTextFrames } from '../src/text-frames';

describe('encodeTextFrames', () => {
  it('writes frames a ws client reads back as the same texts, at every length encoding', async () => {
    const texts = ['', 'hello', 'x'.repeat(125), 'y'.repeat(126), 'é'.repeat(40_000), 'z'.repeat(70_000)];
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    // A real ws handshake; then the frames go straight to the socket, as the simulator writes them.
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, () => socket.write(encodeTextFrames(texts))),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    try {
      const got: Array<{ text: string; binary: boolean }> = [];
      await new Promise<void>((resolve, reject) => {
        client.on('error', reject);
        client.on('close', (code) => reject(new Error(`closed with ${code}`)));
        client.on('message', (data: Buffer, isBinary) => {
          got.push({ text: data.toString('utf8'), binary: isBinary });
          if (got.length === texts.length) resolve();
        });
      });
      expect(got).toEqual(texts.map((text) => ({ text, binary: false })));
    } finally {
      client.terminate();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
