import express from 'express';
import request from 'supertest';
import { createHttpApp } from '../../src/http/create-http-app';
import { silentLogger } from '../../src/logging/create-logger';

describe('HTTP app', () => {
  let ready = false;
  const app = createHttpApp({
    logger: silentLogger(),
    readiness: () => ({ ready, detail: { rtm_connections: ready ? 2 : 0 } }),
  });

  it('reports liveness', async () => {
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('reports not ready until ClickDesk is connected, then ready', async () => {
    ready = false;
    expect((await request(app).get('/readyz')).status).toBe(503);
    ready = true;
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.rtm_connections).toBe(2);
  });

  it('sets security headers through helmet and hides the framework', async () => {
    const res = await request(app).get('/healthz');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers unknown routes with a JSON 404 that names the route', async () => {
    const res = await request(app).post('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ ok: false, error: 'not_found', message: 'No route for POST /nope' });
  });

  it('answers malformed JSON with a JSON 400 that neither quotes the body nor shows a stack', async () => {
    const echo = express.Router().post('/', express.json(), (req, res) => void res.json(req.body));
    const withBody = createHttpApp({
      logger: silentLogger(),
      readiness: () => ({ ready: true, detail: {} }),
      routers: [{ path: '/echo', router: echo }],
    });
    const res = await request(withBody)
      .post('/echo')
      .set('content-type', 'application/json')
      .send('{"secret-looking": SENSITIVE-BODY-TEXT');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.body).toEqual({ ok: false, error: 'SyntaxError', message: 'the body is not valid JSON' });
    expect(res.text).not.toMatch(/SENSITIVE|at .*\(|\/work|node_modules/);
  });

  it('answers a failing handler with a JSON 500 that says nothing of the failure', async () => {
    const boom = express.Router().get('/', () => {
      throw new Error('/srv/app/secret/path.ts exploded');
    });
    const failing = createHttpApp({
      logger: silentLogger(),
      readiness: () => ({ ready: true, detail: {} }),
      routers: [{ path: '/boom', router: boom }],
    });
    const res = await request(failing).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ ok: false, error: 'Error', message: 'internal error' });
  });
});
