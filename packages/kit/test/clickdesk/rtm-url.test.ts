import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ClickDeskGateway } from '../../src/clickdesk/gateway';
import { checkRtmUrl } from '../../src/clickdesk/rtm-url';
import { silentLogger } from '../../src/logging/create-logger';
import { Simulator } from '@clickdesk-bot/sandbox';
import { sleep, waitFor } from '../helpers/wait-for';

describe('the RTM URL from apps.connections.open', () => {
  const api = 'http://127.0.0.1:4100/api/';

  it.each([
    ['ws://127.0.0.1:4100/rtm?ticket=t', api],
    ['wss://127.0.0.1:4100/rtm?ticket=t', 'https://127.0.0.1:4100/api/'],
    ['ws://localhost:4100/rtm?ticket=t', api],
    ['wss://api.clickdesk.example/rtm?ticket=t', 'https://api.clickdesk.example/api/'],
  ])('follows %s for an API at %s', (url, base) => {
    expect(checkRtmUrl(url, base).href).toBe(new URL(url).href);
  });

  it.each([
    ['ws://evil.example:4100/rtm?ticket=t', api, /not on the API's host 127.0.0.1:4100/],
    ['ws://127.0.0.1:4101/rtm?ticket=t', api, /not on the API's host/],
    ['http://127.0.0.1:4100/rtm?ticket=t', api, /only wss: or ws:/],
    ['ws://api.clickdesk.example/rtm', 'https://api.clickdesk.example/api/', /only wss:/],
    [
      'wss://api.clickdesk.example.evil.example/rtm',
      'https://api.clickdesk.example/api/',
      /not on the API's host/,
    ],
    ['not a url', api, /does not parse/],
  ])('refuses %s for an API at %s', (url, base, message) => {
    expect(() => checkRtmUrl(url, base)).toThrow(message);
  });

  it('the gateway never opens an RTM URL on another host, and keeps asking within budget', async () => {
    const sim = new Simulator();
    await sim.listen(0);
    const elsewhere = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(elsewhere, 'listening');
    let reached = 0;
    elsewhere.on('connection', (ws) => {
      reached += 1;
      ws.close();
    });
    const { port } = elsewhere.address() as AddressInfo;
    let asked = 0;
    const gateway = new ClickDeskGateway({
      openConnection: () => {
        asked += 1;
        return Promise.resolve(`ws://127.0.0.1:${port}/rtm?ticket=stolen`);
      },
      apiUrl: sim.apiUrl,
      intake: () => Promise.resolve('recorded'),
      connections: 1,
      pingIntervalMs: 1_000,
      pongTimeoutMs: 1_000,
      stallTimeoutMs: 10_000,
      backoffBaseMs: 10,
      backoffMaxMs: 20,
      logger: silentLogger(),
      onFatal: () => undefined,
    });
    gateway.start();
    await waitFor('several attempts', () => asked >= 3);
    await sleep(50);
    await gateway.close();
    expect(reached).toBe(0);
    expect(gateway.openConnections).toBe(0);
    await new Promise<void>((r) => elsewhere.close(() => r()));
    await sim.close();
  });
});
