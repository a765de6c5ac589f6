import crypto from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { requireBearer } from '../../src/http/require-bearer';

const TOKEN = crypto.randomBytes(32).toString('hex');

describe('requireBearer', () => {
  const app = express()
    .use(requireBearer(TOKEN, 'ADMIN_TOKEN'))
    .get('/', (_req, res) => void res.send('in'));
  afterEach(() => jest.restoreAllMocks());

  it('lets the exact token through and refuses every other guess with 401', async () => {
    expect((await request(app).get('/').set('authorization', `Bearer ${TOKEN}`)).status).toBe(200);
    for (const guess of ['', 'Bearer', `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}x`, `bearer ${TOKEN}`]) {
      const res = await request(app).get('/').set('authorization', guess);
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('send Authorization: Bearer <ADMIN_TOKEN>');
    }
  });

  it('compares every guess in full, whatever its length: no early answer that times the length', async () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    for (const guess of ['Bearer x', `Bearer ${'y'.repeat(64)}`, `Bearer ${'z'.repeat(5000)}`]) {
      compare.mockClear();
      expect((await request(app).get('/').set('authorization', guess)).status).toBe(401);
      expect(compare).toHaveBeenCalledTimes(1);
      // Both sides are digests of one size, so the comparison's duration does not depend on the guess.
      const [given, expected] = compare.mock.calls[0] as [Buffer, Buffer];
      expect([given.length, expected.length]).toEqual([32, 32]);
    }
  });
});
