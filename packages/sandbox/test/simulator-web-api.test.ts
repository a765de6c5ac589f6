import request from 'supertest';
import WebSocket from 'ws';
import { Simulator } from '../src/simulator';
import { SlidingWindowLimiter } from '../src/sliding-window';

describe('simulator Web API', () => {
  let sim: Simulator;
  const bot = () => `Bearer ${sim.team.botToken}`;
  beforeEach(async () => {
    sim = new Simulator({ agentJoinDelayMs: -1 });
    await sim.listen(0);
  });
  afterEach(() => sim.close());

  it('answers invalid_auth to a wrong token and unknown_method with 404', async () => {
    const wrong = await request(sim.url).post('/api/auth.test').set('authorization', 'Bearer xoxb-nope');
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ ok: false, error: 'invalid_auth' });
    const unknown = await request(sim.url).post('/api/chat.delete').set('authorization', bot());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown_method');
  });

  it('accepts JSON and form bodies alike', async () => {
    const { visitorId } = sim.startVisitorChat('Ada');
    const json = await request(sim.url)
      .post('/api/visitors.info')
      .set('authorization', bot())
      .send({ visitor_id: visitorId });
    const form = await request(sim.url)
      .post('/api/visitors.info')
      .set('authorization', bot())
      .type('form')
      .send({ visitor_id: visitorId });
    expect(json.body.visitor.id).toBe(visitorId);
    expect(form.body.visitor.id).toBe(visitorId);
  });

  it('answers visitor_not_found once a visitor was deleted upstream', async () => {
    const { visitorId, conversationId } = sim.startVisitorChat('Ada');
    sim.world.deleteVisitor(visitorId);
    const v = await request(sim.url)
      .post('/api/visitors.info')
      .set('authorization', bot())
      .send({ visitor_id: visitorId });
    const c = await request(sim.url)
      .post('/api/conversations.info')
      .set('authorization', bot())
      .send({ conversation_id: conversationId });
    expect(v.body.error).toBe('visitor_not_found');
    expect(c.body.error).toBe('conversation_not_found');
  });

  it('counts a sliding window with X-RateLimit headers and answers 429 with Retry-After past it', async () => {
    sim.options.limits['team.info'] = 3;
    for (let i = 0; i < 3; i++) {
      const ok = await request(sim.url).post('/api/team.info').set('authorization', bot());
      expect(ok.body.ok).toBe(true);
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const refused = await request(sim.url).post('/api/team.info').set('authorization', bot());
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ ok: false, error: 'ratelimited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(sim.counters.ratelimited).toBe(1);
    expect(sim.counters.ratelimitedByMethod['team.info']).toBe(1);
  });

  it('limits chat.postMessage per conversation to bursts of 3', async () => {
    const { conversationId } = sim.startVisitorChat('Ada');
    const post = () =>
      request(sim.url)
        .post('/api/chat.postMessage')
        .set('authorization', bot())
        .send({ conversation_id: conversationId, text: 'hi' });
    for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
    const fourth = await post();
    expect(fourth.status).toBe(429);
    expect(fourth.headers['retry-after']).toBe('1');
  });

  it('refuses chat.postMessage without text', async () => {
    const { conversationId } = sim.startVisitorChat('Ada');
    const res = await request(sim.url)
      .post('/api/chat.postMessage')
      .set('authorization', bot())
      .send({ conversation_id: conversationId });
    expect(res.body.error).toBe('invalid_arguments');
  });

  it('issues RTM tickets that work once only', async () => {
    const open = await request(sim.url)
      .post('/api/apps.connections.open')
      .set('authorization', `Bearer ${sim.options.appToken}`);
    const url = open.body.url as string;
    const first = new WebSocket(url);
    const hello = await new Promise<string>((resolve) =>
      first.once('message', (d) => resolve(Buffer.from(d as Buffer).toString('utf8'))),
    );
    expect(JSON.parse(hello)).toMatchObject({
      type: 'hello',
      connection_info: { app_id: sim.options.appId },
    });
    const second = new WebSocket(url);
    second.on('error', () => undefined);
    const status = await new Promise<number>((resolve) =>
      second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
    second.terminate();
    first.close();
    expect(sim.counters.upgradesRefused).toBe(1);
  });

  it('refuses the bot token for apps.connections.open', async () => {
    const res = await request(sim.url).post('/api/apps.connections.open').set('authorization', bot());
    expect(res.body.error).toBe('invalid_auth');
  });

  it('explains malformed fault-control requests', async () => {
    const res = await request(sim.url).post('/sandbox/faults/disconnect').send({ reason: 'nap' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/reason/);
  });
});

describe('SlidingWindowLimiter', () => {
  it('never admits more than the limit in any window span, even across a fixed-window edge', () => {
    const limiter = new SlidingWindowLimiter();
    const accepted: number[] = [];
    for (let t = 0; t < 180_000; t += 250) if (limiter.take('k', 10, 60_000, t).allowed) accepted.push(t);
    for (const start of accepted)
      expect(accepted.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(10);
    expect(accepted).toHaveLength(30);
  });

  it('reports when the next call fits', () => {
    const limiter = new SlidingWindowLimiter();
    limiter.take('k', 2, 1000, 0);
    limiter.take('k', 2, 1000, 400);
    expect(limiter.take('k', 2, 1000, 500)).toEqual({ allowed: false, remaining: 0, resetMs: 1000 });
  });
});
