import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { webhookSecretProblem } from '../../kit/src/config/webhook-secret';
import { Simulator } from '../src/simulator';
import { httpCall } from '../../kit/test/helpers/http-call';
import { nonLoopbackAddress } from '../../kit/test/helpers/non-loopback-address';

const json = { 'content-type': 'application/json' };

describe('the simulator signs only with a secret of its own', () => {
  it('makes a strong secret of its own when given none, a different one each run', async () => {
    const a = new Simulator();
    const b = new Simulator();
    expect(a.webhookSecrets).toHaveLength(1);
    expect(webhookSecretProblem(a.webhookSecrets[0]!)).toBeUndefined();
    expect(Buffer.from(a.webhookSecrets[0]!.slice(6), 'base64')).toHaveLength(32);
    expect(a.webhookSecrets[0]).not.toBe(b.webhookSecrets[0]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('sandbox controls (loopback and Host check)', () => {
  let sim: Simulator;
  let port: number;
  let received: number;
  let sink: http.Server;
  let sinkUrl: string;
  beforeAll(async () => {
    sink = http.createServer((req, res) => {
      received += 1;
      req.resume();
      res.statusCode = 204;
      res.end();
    });
    sink.listen(0, '127.0.0.1');
    await once(sink, 'listening');
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
    sim = new Simulator({
      webhook: { url: undefined, secrets: [], retries: 0, timeoutMs: 1000, retryBaseMs: 1 },
    });
    await sim.listen(0, '0.0.0.0');
    port = Number(new URL(sim.url).port);
  });
  beforeEach(() => (received = 0));
  afterAll(async () => {
    await sim.close();
    await new Promise<void>((r) => sink.close(() => r()));
  });

  const sendWebhook = (host: string | undefined, from?: string) =>
    httpCall(`http://127.0.0.1:${port}/sandbox/webhooks`, {
      localAddress: from,
      method: 'POST',
      headers: { ...json, ...(host === undefined ? {} : { host }) },
      body: JSON.stringify({ type: 'app.uninstalled', team_id: 'T0SANDBOX', url: sinkUrl }),
    });

  it.each(['localhost', '127.0.0.1', '[::1]'])(
    'serves a loopback caller that sends Host %s',
    async (name) => {
      const res = await sendWebhook(`${name}:${port}`);
      expect(res.status).toBe(200);
      expect(received).toBe(1);
    },
  );

  it.each(['attacker.example', 'attacker.example:80', '127.0.0.1.nip.io', 'localhost.attacker.example'])(
    'refuses Host %s (DNS rebinding) and sends nothing',
    async (host) => {
      const res = await sendWebhook(host);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ ok: false, error: 'bad_host' });
      expect(received).toBe(0);
    },
  );

  it('refuses every control route to a foreign Host, counters and faults included', async () => {
    const counters = await httpCall(`http://127.0.0.1:${port}/sandbox/counters`, {
      headers: { host: 'attacker.example' },
    });
    expect(counters.status).toBe(403);
    const fault = await httpCall(`http://127.0.0.1:${port}/sandbox/faults/stall`, {
      method: 'POST',
      headers: { ...json, host: 'attacker.example' },
      body: '{"on":true}',
    });
    expect(fault.status).toBe(403);
  });

  const webhookBody = () => JSON.stringify({ type: 'app.uninstalled', team_id: 'T0SANDBOX', url: sinkUrl });

  it.each([
    ['x-forwarded-for', '203.0.113.9'],
    ['forwarded', 'for=203.0.113.9'],
    ['x-real-ip', '203.0.113.9'],
    ['via', '1.1 proxy'],
  ])(
    'refuses a request a proxy forwarded (%s) from a loopback peer with a loopback Host',
    async (header, value) => {
      const res = await httpCall(`http://127.0.0.1:${port}/sandbox/webhooks`, {
        method: 'POST',
        headers: { ...json, [header]: value },
        body: webhookBody(),
      });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ ok: false, error: 'forwarded' });
      expect(received).toBe(0);
    },
  );

  it.each([
    ['a cross-site text/plain POST', { 'content-type': 'text/plain', origin: 'https://evil.example' }],
    [
      'a cross-site form POST',
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    ],
    ['a cross-site JSON POST', { ...json, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['a JSON POST with Origin null', { ...json, origin: 'null' }],
    ['a same-site (other port) page', { ...json, 'sec-fetch-site': 'same-site' }],
    ['a text/plain POST with no Origin', { 'content-type': 'text/plain' }],
    ['a POST with no body type at all', {}],
  ])('refuses %s and sends nothing', async (_what, headers: Record<string, string>) => {
    const res = await httpCall(`http://127.0.0.1:${port}/sandbox/webhooks`, {
      method: 'POST',
      headers,
      body: webhookBody(),
    });
    expect([403, 415]).toContain(res.status);
    expect(JSON.parse(res.text)).toMatchObject({ ok: false });
    expect(received).toBe(0);
  });

  it("serves the simulator's own page (same Origin, Sec-Fetch-Site same-origin) and curl (neither)", async () => {
    const own = await httpCall(`http://127.0.0.1:${port}/sandbox/webhooks`, {
      method: 'POST',
      headers: { ...json, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
      body: webhookBody(),
    });
    expect(own.status).toBe(200);
    const typed = await httpCall(`http://127.0.0.1:${port}/sandbox/counters`, {
      headers: { 'sec-fetch-site': 'none' },
    });
    expect(typed.status).toBe(200);
    expect(received).toBe(1);
  });

  const outside = nonLoopbackAddress();
  outside.describeIf('from another address, for real', () => {
    it('refuses a caller that is not on loopback, whatever Host it sends, and still serves the visitor page', async () => {
      const res = await sendWebhook(`localhost:${port}`, outside.address);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'not_loopback' });
      expect(received).toBe(0);
      const page = await httpCall(`http://127.0.0.1:${port}/visitor/`, { localAddress: outside.address });
      expect(page.status).toBe(200);
    });
  });

  it('signs what it sends with its own secret only', async () => {
    const captured: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const capture = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        captured.push({ headers: req.headers, body });
        res.statusCode = 204;
        res.end();
      });
    });
    capture.listen(0, '127.0.0.1');
    await once(capture, 'listening');
    const url = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/`;
    const res = await httpCall(`http://127.0.0.1:${port}/sandbox/webhooks`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ type: 'api_access.terminated', app_id: 'A-ANY', url }),
    });
    await new Promise<void>((r) => capture.close(() => r()));
    expect(res.status).toBe(200);
    const [delivery] = captured;
    const headers = delivery!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new Webhook(sim.webhookSecrets[0]!).verify(delivery!.body, headers)).not.toThrow();
  });
});

describe('simulator errors', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = new Simulator();
    await sim.listen(0);
  });
  afterAll(() => sim.close());

  it.each(['/sandbox/events', '/api/auth.test', '/visitor/api/chats'])(
    'answers malformed JSON on %s with JSON, no stack and no path on disk',
    async (path) => {
      const res = await httpCall(`${sim.url}${path}`, {
        method: 'POST',
        headers: json,
        body: '{"event": nope',
      });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/json/);
      expect(JSON.parse(res.text)).toEqual({ ok: false, error: 'invalid_json' });
      expect(res.text).not.toMatch(/at |\/work|node_modules|SyntaxError|nope/);
    },
  );

  it('answers an unknown route with a JSON 404', async () => {
    const res = await httpCall(`${sim.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({ ok: false, error: 'not_found' });
  });
});
