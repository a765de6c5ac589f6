import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Simulator } from '../src/simulator';

const SECRET_A = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;

describe('simulator lifecycle webhooks', () => {
  let server: http.Server;
  let url: string;
  let answers: number[];
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

  beforeEach(async () => {
    received.length = 0;
    answers = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = answers.shift() ?? 204;
        res.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it('signs with every secret during a rotation, each verifiable on its own', async () => {
    const sim = new Simulator({
      webhook: { url, secrets: [SECRET_A, SECRET_B], retries: 0, timeoutMs: 1000, retryBaseMs: 1 },
    });
    const report = await sim.webhooks.send('app.uninstalled', { team_id: 'T1' });
    await sim.close();
    expect(report.delivered).toBe(true);
    const [delivery] = received;
    const headers = delivery!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [SECRET_A, SECRET_B]) {
      expect(new Webhook(secret).verify(delivery!.body, headers)).toEqual({
        type: 'app.uninstalled',
        team_id: 'T1',
      });
    }
  });

  it('retries a failed delivery with the same webhook-id', async () => {
    answers = [500, 503];
    const sim = new Simulator({
      webhook: { url, secrets: [SECRET_A], retries: 5, timeoutMs: 1000, retryBaseMs: 5 },
    });
    const report = await sim.webhooks.send('data_deletion.requested', {
      team_id: 'T1',
      subject: { kind: 'visitor', id: 'V1' },
    });
    await sim.close();
    expect(report).toMatchObject({ delivered: true, attempts: 3 });
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(sim.counters).toMatchObject({ webhookAttempts: 3, webhooksDelivered: 1, webhooksFailed: 0 });
  });

  it('gives up after the configured retries and counts the failure', async () => {
    answers = [500, 500, 500];
    const sim = new Simulator({
      webhook: { url, secrets: [SECRET_A], retries: 2, timeoutMs: 1000, retryBaseMs: 1 },
    });
    const report = await sim.webhooks.send('account.closed', {
      team_id: 'T1',
      subject: { kind: 'agent', id: 'U1' },
    });
    await sim.close();
    expect(report).toMatchObject({ delivered: false, attempts: 3, status: 500 });
    expect(sim.counters.webhooksFailed).toBe(1);
  });
});
