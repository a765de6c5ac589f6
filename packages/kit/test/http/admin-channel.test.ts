import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { adminRouter } from '../../src/http/admin-router';
import { createHttpApp } from '../../src/http/create-http-app';
import { silentLogger } from '../../src/logging/create-logger';
import type { Storage } from '../../src/storage/open-storage';
import { httpCall } from '../helpers/http-call';
import { nonLoopbackAddress } from '../helpers/non-loopback-address';
import { storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TOKEN = 'an-admin-token-of-enough-length';
const PATH = '/admin/subjects/visitor/V1?team_id=T1';
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('admin channel check (TRUST_PROXY)', () => {
  let fx: StorageFixture;
  let storage: Storage;
  beforeAll(async () => {
    fx = await storageFixture('sqlite');
    storage = await fx.open();
  });
  afterAll(async () => {
    await storage.close();
    await fx.cleanup();
  });
  const appTrusting = (trustProxy: string[]) =>
    createHttpApp({
      logger: silentLogger(),
      readiness: () => ({ ready: true, detail: {} }),
      routers: [{ path: '/admin', router: adminRouter(storage.sql!.ctx, TOKEN) }],
      trustProxy,
    });

  it('serves a loopback client with the token when no proxy is involved', async () => {
    const res = await request(appTrusting([])).get(PATH).set(bearer);
    expect(res.status).toBe(200);
  });

  it('treats a request forwarded by a proxy not named in TRUST_PROXY as remote, even from loopback', async () => {
    const res = await request(appTrusting([])).get(PATH).set(bearer).set('x-forwarded-for', '203.0.113.7');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      error: 'insecure_channel',
      message: expect.stringMatching(/TRUST_PROXY/),
    });
  });

  it('judges the client behind a trusted proxy by X-Forwarded-For and X-Forwarded-Proto', async () => {
    const app = appTrusting(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
    const plain = await request(app).get(PATH).set(bearer).set('x-forwarded-for', '203.0.113.7');
    expect(plain.status).toBe(403);
    const tls = await request(app)
      .get(PATH)
      .set(bearer)
      .set('x-forwarded-for', '203.0.113.7')
      .set('x-forwarded-proto', 'https');
    expect(tls.status).toBe(200);
    const local = await request(app).get(PATH).set(bearer).set('x-forwarded-for', '127.0.0.1');
    expect(local.status).toBe(200);
  });

  it('checks the channel before the token: a plain remote request learns nothing about the token', async () => {
    const app = appTrusting(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${TOKEN}`]) {
      const req = request(app).get(PATH).set('x-forwarded-for', '203.0.113.7');
      const res = await (auth ? req.set('authorization', auth) : req);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    const tls = request(app)
      .get(PATH)
      .set('x-forwarded-for', '203.0.113.7')
      .set('x-forwarded-proto', 'https');
    expect((await tls.set('authorization', 'Bearer wrong')).status).toBe(401);
  });

  const outside = nonLoopbackAddress();
  outside.describeIf('from another address, for real', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = appTrusting([]).listen(0, '127.0.0.1');
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('refuses a plain remote client, token or not, and ignores a forged X-Forwarded-Proto', async () => {
      // From this machine's non-loopback address to 127.0.0.1: the app sees a remote caller.
      const res = await httpCall(`${base}${PATH}`, {
        localAddress: outside.address,
        headers: { ...bearer, 'x-forwarded-proto': 'https' },
      });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'insecure_channel' });
    });
  });
});
