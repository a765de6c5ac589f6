import http from 'node:http';
import { rawSocket, type RawSocket } from '../helpers/raw-socket';
import { spawnMain, type MainProcess } from '../helpers/spawn-main';
import { waitFor } from '../helpers/wait-for';

/** One GET on a fresh connection: the status, or the socket error when the server closed it. */
function probe(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('HEALTH_PORT: probes on a listener of their own', () => {
  let main: MainProcess;
  let appUrl: string;
  let healthUrl: string;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    main = spawnMain({
      SANDBOX: '1',
      HEALTH_PORT: '0',
      // The default cap; slow clients hold their connections for the whole test.
      HTTP_MAX_CONNECTIONS: '512',
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      LOG_LEVEL: 'info',
    });
    await waitFor('the app to start', () => /"msg":"app started"/.test(main.output()), 30_000);
    appUrl = /"http":"(http:\/\/[^"]+)"/.exec(main.output())![1]!;
    healthUrl = /"health":"(http:\/\/[^"]+)"/.exec(main.output())![1]!;
  }, 40_000);

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.socket.destroy();
    main.child.kill('SIGTERM');
    await main.exited;
    main.cleanup();
  });

  it('answers /healthz and /readyz while 600 slow-header clients hold every connection of the main port', async () => {
    // Ready once the RTM links are open, a moment after start-up.
    for (let i = 0; i < 100 && (await probe(`${healthUrl}/readyz`)) !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await probe(`${healthUrl}/readyz`)).toBe(200);
    const port = Number(new URL(appUrl).port);
    for (let i = 0; i < 600; i++) {
      const s = await rawSocket(port);
      s.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      sockets.push(s);
    }
    // The main port is full: the connections beyond its cap were closed, and so is a probe there.
    await waitFor('connections beyond the cap closed', () => sockets.filter((s) => s.closed()).length >= 88);
    expect(await probe(`${appUrl}/healthz`)).not.toBe(200);

    expect(await probe(`${healthUrl}/healthz`)).toBe(200);
    expect(await probe(`${healthUrl}/readyz`)).toBe(200);
  }, 60_000);

  it('serves nothing but the probes there', async () => {
    expect(await probe(`${healthUrl}/metrics`)).toBe(404);
    expect(await probe(`${healthUrl}/install`)).toBe(404);
  });

  it('closes the probe listener on SIGTERM with the rest of the app', async () => {
    for (const s of sockets.splice(0)) s.socket.destroy();
    main.child.kill('SIGTERM');
    expect(await main.exited).toBe(0);
    expect(await probe(`${healthUrl}/healthz`)).toBe('ECONNREFUSED');
  });
});
