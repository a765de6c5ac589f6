import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { httpCall } from '../helpers/http-call';
import { nonLoopbackAddress } from '../helpers/non-loopback-address';
import { rawSocket } from '../helpers/raw-socket';
import { spawnMain, type MainProcess } from '../helpers/spawn-main';
import { waitFor } from '../helpers/wait-for';

const OPERATOR_SECRET = `whsec_${Buffer.from('the-operators-real-clickdesk-secret!').toString('base64')}`;
const json = { 'content-type': 'application/json' };

/**
 * An attack against a real `SANDBOX=1` process started as
 * `npm run start:built` starts it, with the operator's WEBHOOK_SECRETS in its environment: the
 * sandbox must not sign for anyone but itself.
 */
describe('a sandbox that cannot be abused (real process, SANDBOX=1)', () => {
  let main: MainProcess;
  let simUrl: string;
  let appUrl: string;
  let metricsUrl: string;
  const captured: Array<{ headers: Record<string, string>; body: string }> = [];
  let capture: http.Server;
  let captureUrl: string;

  beforeAll(async () => {
    capture = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        captured.push({ headers: req.headers as Record<string, string>, body });
        res.statusCode = 204;
        res.end();
      });
    });
    capture.listen(0, '127.0.0.1');
    await once(capture, 'listening');
    captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/hook`;

    main = spawnMain({
      SANDBOX: '1',
      WEBHOOK_SECRETS: OPERATOR_SECRET,
      SANDBOX_HOST: '0.0.0.0',
      METRICS_PORT: '0',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'info',
    });
    await waitFor('the app to start', () => /"msg":"app started"/.test(main.output()), 30_000);
    const out = main.output();
    simUrl = /Chat with your bot as a visitor: (http:\/\/[^/\s]+)/.exec(out)![1]!;
    appUrl = /"http":"(http:\/\/[^"]+)"/.exec(out)![1]!;
    metricsUrl = /"metrics":"(http:\/\/[^"]+)"/.exec(out)![1]!;
  }, 40_000);

  afterAll(async () => {
    main.child.kill('SIGTERM');
    await main.exited;
    main.cleanup();
    await new Promise<void>((r) => capture.close(() => r()));
  });

  const sandboxUrl = (path: string) => `http://127.0.0.1:${new URL(simUrl).port}${path}`;

  it("never signs with the operator's secret: what it sends fails verification under WEBHOOK_SECRETS", async () => {
    const res = await httpCall(sandboxUrl('/sandbox/webhooks'), {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ type: 'api_access.terminated', app_id: 'A-VICTIM', url: captureUrl }),
    });
    expect(res.status).toBe(200);
    expect(captured).toHaveLength(1);
    const { headers, body } = captured[0]!;
    expect(headers['webhook-signature']).toMatch(/^v1,\S+$/);
    expect(() => new Webhook(OPERATOR_SECRET).verify(body, headers)).toThrow(/No matching signature/);
  });

  it("trusts only the simulator's secret in sandbox mode, not one signed with WEBHOOK_SECRETS", async () => {
    const body = JSON.stringify({ type: 'app.uninstalled', team_id: 'T0SANDBOX' });
    const id = 'msg_forged_with_operator_secret';
    const now = new Date();
    const res = await httpCall(`${appUrl}/webhooks/clickdesk`, {
      method: 'POST',
      headers: {
        ...json,
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(OPERATOR_SECRET).sign(id, now, body),
      },
      body,
    });
    expect(res.status).toBe(401);
  });

  it('refuses its controls to a foreign Host (DNS rebinding) and sends nothing', async () => {
    const before = captured.length;
    const res = await httpCall(sandboxUrl('/sandbox/webhooks'), {
      method: 'POST',
      headers: { ...json, host: `rebound.attacker.example:${new URL(simUrl).port}` },
      body: JSON.stringify({ type: 'app.uninstalled', team_id: 'T0SANDBOX', url: captureUrl }),
    });
    expect(res.status).toBe(403);
    expect(captured).toHaveLength(before);
  });

  const outside = nonLoopbackAddress();
  (outside.address ? it : it.skip)(
    'refuses its controls to a caller that is not on loopback, even listening on every interface',
    async () => {
      const before = captured.length;
      const res = await httpCall(`http://127.0.0.1:${new URL(simUrl).port}/sandbox/webhooks`, {
        localAddress: outside.address,
        method: 'POST',
        headers: { ...json, host: 'localhost' },
        body: JSON.stringify({ type: 'app.uninstalled', team_id: 'T0SANDBOX', url: captureUrl }),
      });
      expect(res.status).toBe(403);
      expect(captured).toHaveLength(before);
    },
  );

  it('answers malformed JSON with a JSON error, no stack, no path on disk', async () => {
    const res = await httpCall(sandboxUrl('/sandbox/events'), {
      method: 'POST',
      headers: json,
      body: '{oops',
    });
    expect(res.status).toBe(400);
    expect(res.text).toBe('{"ok":false,"error":"invalid_json"}');
  });

  it('listens with the configured timeouts: a slow-header client is cut off with 408', async () => {
    const s = await rawSocket(Number(new URL(appUrl).port));
    s.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    await waitFor('the app to cut the slow client off', s.closed, 15_000);
    expect(s.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('serves METRICS_PORT with helmet headers, no X-Powered-By and JSON 404s', async () => {
    const res = await httpCall(metricsUrl.replace(/\/metrics$/, '/nowhere'));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ ok: false, error: 'not_found' });
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect((await httpCall(metricsUrl)).text).toMatch(
      /^clickdesk_webhooks_ignored_total\{reason="other_app"\} 0$/m,
    );
  });

  it("never writes the operator's secret to its output", () => {
    expect(main.output()).not.toContain(OPERATOR_SECRET.slice(6));
    expect(main.output()).toMatch(/WEBHOOK_SECRETS is not used/);
  });
});
