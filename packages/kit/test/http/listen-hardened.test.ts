import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createHttpApp } from '../../src/http/create-http-app';
import { listenHardened, type ServerLimits } from '../../src/http/listen-hardened';
import { silentLogger } from '../../src/logging/create-logger';
import { rawSocket, type RawSocket } from '../helpers/raw-socket';
import { waitFor } from '../helpers/wait-for';

const LIMITS: ServerLimits = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 600,
  keepAliveTimeoutMs: 200,
  maxConnections: 3,
};

describe('servers the app listens with', () => {
  let server: Server;
  let port: number;
  const sockets: RawSocket[] = [];
  beforeEach(async () => {
    const echo = express.Router().post('/', express.json(), (req, res) => void res.json(req.body));
    const app = createHttpApp({
      logger: silentLogger(),
      readiness: () => ({ ready: true, detail: {} }),
      routers: [{ path: '/echo', router: echo }],
    });
    server = await listenHardened(app, 0, '127.0.0.1', LIMITS);
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const open = async () => {
    const s = await rawSocket(port);
    sockets.push(s);
    return s;
  };

  it('cuts off a client that never finishes its headers (slowloris) with 408', async () => {
    const s = await open();
    s.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await waitFor('the server to close the connection', s.closed, 10_000);
    expect(s.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('cuts off a client that never finishes its body with 408', async () => {
    const s = await open();
    s.socket.write(
      'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
    );
    await waitFor('the server to close the connection', s.closed, 10_000);
    expect(s.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection after answering on it', async () => {
    const s = await open();
    s.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    await waitFor('the answer', () => s.received().includes('{"ok":true}'));
    expect(s.received()).toMatch(/^HTTP\/1\.1 200/);
    await waitFor('the server to close the idle connection', s.closed, 10_000);
  });

  it('closes connections beyond the cap at once and keeps serving those it holds', async () => {
    const held = [await open(), await open(), await open()];
    await waitFor('three connections held', () => countConnections(server) === 3);
    const extra = await open();
    await waitFor('the extra connection closed', extra.closed, 10_000);
    expect(extra.received()).toBe('');
    for (const s of held) expect(s.closed()).toBe(false);
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor('an answer on a held connection', () => held[0]!.received().includes('{"ok":true}'));
  });
});

let connections = 0;
function countConnections(server: Server): number {
  server.getConnections((_err, n) => (connections = n));
  return connections;
}
