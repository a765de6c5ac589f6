import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../../src/logging/create-logger';
import { RtmConnection, type CloseReason } from '../../src/clickdesk/rtm-connection';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/** A WebSocket server on port 0 that says hello and answers pings as the test decides. */
async function pingServer(answer: (pingNumber: number) => boolean): Promise<{
  url: string;
  pings: () => number;
  sockets: WebSocket[];
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
  await once(wss, 'listening');
  let pings = 0;
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('ping', (data) => {
      pings += 1;
      if (answer(pings)) ws.pong(data);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1 }));
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/rtm`,
    pings: () => pings,
    sockets,
    close: async () => {
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

function connect(url: string, closes: CloseReason[]): RtmConnection {
  return new RtmConnection({
    url,
    label: 'test',
    pingIntervalMs: 40,
    pongTimeoutMs: 80,
    stallTimeoutMs: 60_000,
    helloTimeoutMs: 2_000,
    logger: silentLogger(),
    onEnvelope: () => undefined,
    onNotice: () => undefined,
    onProtocolError: () => undefined,
    onClose: (_c, why) => closes.push(why),
  });
}

/** Heap in use after full collections: what the process keeps, not what it has allocated. */
function heapKept(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Timers alive in this process now. */
const activeTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('RTM link liveness', () => {
  it('tolerates one lost pong and keeps the link', async () => {
    const server = await pingServer((n) => n !== 1); // the first ping goes unanswered
    const closes: CloseReason[] = [];
    const conn = connect(server.url, closes);
    await conn.ready;
    await waitFor('several pings after the lost one', () => server.pings() >= 5);
    expect(closes).toEqual([]);
    expect(conn.isOpen).toBe(true);
    await conn.retire(0);
    await server.close();
  });

  it('treats a link as dead after two lost pongs in a row, and only then', async () => {
    const server = await pingServer(() => false);
    const closes: CloseReason[] = [];
    const conn = connect(server.url, closes);
    await conn.ready;
    await waitFor('link declared dead', () => closes.length === 1);
    expect(closes).toEqual(['pong_timeout']);
    expect(server.pings()).toBe(2);
    expect(conn.isOpen).toBe(false);
    await server.close();
  });

  it('keeps one timer per link and nothing per hello however many hellos the server sends (200,000)', async () => {
    const server = await pingServer(() => true);
    const closes: CloseReason[] = [];
    const conn = connect(server.url, closes);
    await conn.ready;
    await sleep(20);
    const before = activeTimeouts();
    const heapBefore = heapKept();
    try {
      const socket = server.sockets[0];
      if (!socket) throw new Error('no server socket');
      const hello = JSON.stringify({ type: 'hello', num_connections: 1 });
      for (let sent = 0; sent < 200_000; sent += 10_000) {
        for (let i = 0; i < 10_000; i++) socket.send(hello);
        await new Promise((r) => setImmediate(r));
      }
      // A ping round trip after the last hello: every hello before it has been read.
      await new Promise<void>((resolve) =>
        socket.ping(undefined, undefined, () => socket.once('pong', () => resolve())),
      );
      await sleep(20);
      // The process-wide count may move by one for reasons of its own (a socket or a pending
      // sleep); a timer per hello would add hundreds of thousands.
      expect(activeTimeouts()).toBeLessThanOrEqual(before + 1);
      // 40 bytes kept per hello would be 8 MB; a timer per hello kept hundreds.
      expect(heapKept() - heapBefore).toBeLessThan(8_000_000);
      expect(closes).toEqual([]);
      expect(conn.isOpen).toBe(true);
    } finally {
      await conn.retire(0);
      await server.close();
    }
  }, 60_000);
});

describe('RTM link liveness through the gateway', () => {
  let pair: SandboxPair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('a hello flood opens no link, starts no timer, and events still flow', async () => {
    // The simulator shares this process: while it sends the flood nothing else runs, so the
    // keep-alive timings are the contract's here (the fast test ones would see a dead link).
    pair = await startSandboxPair({
      simulator: { pingIntervalMs: 10_000 },
      rtm: { connections: 1, pingIntervalMs: 5_000, pongTimeoutMs: 5_000, stallTimeoutMs: 30_000 },
    });
    const opened = pair.sim.counters.connectionsOpened;
    // One event first, so whatever handling an event leaves running is there in both counts.
    const warm = pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V0' });
    await waitFor('first event handled', () => pair!.recorder.handled(warm) && pair!.sim.hub.unsettled === 0);
    await sleep(20);
    const before = activeTimeouts();
    const hello = JSON.stringify({
      type: 'hello',
      num_connections: 1,
      connection_info: { app_id: 'A0SANDBOX' },
    });
    for (let i = 0; i < 20; i++) {
      pair.sim.hub.sendRaw(Array.from({ length: 10_000 }, () => hello));
      await new Promise((r) => setImmediate(r));
    }
    const id = pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('event handled after the flood', () => pair!.recorder.handled(id), 30_000);
    await waitFor('acknowledged', () => pair!.sim.hub.unsettled === 0);
    await sleep(20);
    // The app's own timers (sender polls, retries, log flushes) come and go by one or two; a
    // timer per hello would add 200,000.
    expect(activeTimeouts()).toBeLessThanOrEqual(before + 2);
    expect(pair.sim.counters.connectionsOpened).toBe(opened);
    expect(pair.app.gateway.openConnections).toBe(1);
  }, 60_000);

  it('counts every malformed frame but logs at most one line per 10 s', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    let counted = 0;
    pair = await startSandboxPair({
      rtm: { connections: 1 },
      app: {
        logger: pino({ level: 'info' }, sink),
        gatewayObserver: { protocolError: () => (counted += 1) },
      },
    });
    pair.sim.hub.sendRaw(Array.from({ length: 1_000 }, (_, i) => (i % 2 ? 'not json' : '{"envelope_id":7}')));
    const id = pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('event after the junk handled', () => pair!.recorder.handled(id));
    expect(counted).toBe(1_000);
    const warnings = lines.filter((l) => l.includes('malformed RTM frame'));
    expect(warnings).toHaveLength(1);
    const metrics = await pair.app.metrics.registry.getSingleMetricAsString(
      'clickdesk_rtm_protocol_errors_total',
    );
    expect(metrics).toMatch(/clickdesk_rtm_protocol_errors_total 1000$/m);
  });
});
