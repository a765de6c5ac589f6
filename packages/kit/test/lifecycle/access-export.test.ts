import express from 'express';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { legalPagesRouter } from '../../src/http/legal-pages';
import { requireSecureChannel } from '../../src/http/admin-router';
import { secureExpress } from '../../src/http/secure-express';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';

const TOKEN = 'an-admin-token-of-enough-length';

describe('right of access', () => {
  let p: LifecyclePair;
  beforeAll(async () => {
    p = await startLifecyclePair('sqlite');
    await p.storage.conversations.put({
      teamId: 'T1',
      conversationId: 'C1',
      visitorId: 'V1',
      status: 'bot',
      startedAt: 1,
    });
    await p.storage.messages.append({
      teamId: 'T1',
      conversationId: 'C1',
      eventId: 'Ev1',
      subject: { kind: 'visitor', id: 'V1' },
      sender: { kind: 'visitor', id: 'V1' },
      text: 'where is my parcel?',
      ts: '1',
    });
    await p.storage.profiles.put(
      'T1',
      { kind: 'visitor', id: 'V1' },
      { name: 'Vee', email: 'vee@example.org' },
    );
  });
  afterAll(() => p.stop());

  it('exports everything held about a subject, decrypted, to an admin on loopback', async () => {
    const res = await request(p.app.http)
      .get('/admin/subjects/visitor/V1?team_id=T1')
      .set('authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      subject: { kind: 'visitor', id: 'V1' },
      erased: false,
      profile: { name: 'Vee', email: 'vee@example.org' },
      conversations: [{ status: 'bot' }],
      messages: [
        { conversation_id: 'C1', text: 'where is my parcel?', sender: { kind: 'visitor', id: 'V1' } },
      ],
    });
  });

  it('refuses a missing or wrong token', async () => {
    expect((await request(p.app.http).get('/admin/subjects/visitor/V1?team_id=T1')).status).toBe(401);
    const wrong = await request(p.app.http)
      .get('/admin/subjects/visitor/V1?team_id=T1')
      .set('authorization', `Bearer ${TOKEN.replace('a', 'b')}`);
    expect(wrong.status).toBe(401);
  });

  it('explains a malformed request', async () => {
    const res = await request(p.app.http)
      .get('/admin/subjects/robot/V1')
      .set('authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/visitor\|agent/);
  });

  it('serves decrypted Data only over TLS or loopback', async () => {
    // Behind a reverse proxy on this machine (TRUST_PROXY), the client is what it forwards.
    const app = secureExpress({ trustProxy: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] });
    app.get('/x', requireSecureChannel, (_req, res) => void res.json({ served: true }));
    const via = (client: string | undefined, proto: string | undefined) => {
      let req = request(app).get('/x');
      if (client) req = req.set('x-forwarded-for', client);
      if (proto) req = req.set('x-forwarded-proto', proto);
      return req.then((res) => (res.status === 200 ? 'served' : res.status));
    };
    expect(await via(undefined, undefined)).toBe('served');
    expect(await via('::1', undefined)).toBe('served');
    expect(await via('203.0.113.9', 'https')).toBe('served');
    expect(await via('203.0.113.9', undefined)).toBe(403);
  });

  it('is also a command', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, '../../src/cli/export-subject.ts'),
        '--team',
        'T1',
        '--visitor',
        'V1',
      ],
      {
        cwd: path.join(__dirname, '../..'),
        env: {
          PATH: process.env.PATH ?? '',
          STORAGE: 'sqlite',
          DATA_DIR: p.fx.dataDir,
          MASTER_KEY: p.fx.masterKey,
        },
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      profile: { email: 'vee@example.org' },
      messages: [{ text: 'where is my parcel?' }],
    });
  });
});

describe('privacy policy and user agreement (Terms 7)', () => {
  let p: LifecyclePair;
  beforeAll(async () => {
    p = await startLifecyclePair('sqlite');
  });
  afterAll(() => p.stop());

  it('serves both pages, each linking to the other', async () => {
    for (const page of ['/privacy', '/terms']) {
      const res = await request(p.app.http).get(page);
      expect(res.status).toBe(200);
      expect(res.text).toContain('href="/privacy"');
      expect(res.text).toContain('href="/terms"');
      expect(res.headers['content-security-policy']).toBeDefined();
    }
  });

  it('names the operator and its contact from OPERATOR_NAME and OPERATOR_CONTACT, escaped, or says to set them', async () => {
    const named = express().use(legalPagesRouter({ name: 'Tea & <Co>', contact: 'privacy@tea.example' }));
    for (const page of ['/privacy', '/terms']) {
      const res = await request(named).get(page);
      expect(res.text).toContain('<strong>Tea &amp; &lt;Co&gt;</strong>');
      expect(res.text).toContain('privacy@tea.example');
      expect(res.text).not.toContain('[');
    }
    const unset = await request(express().use(legalPagesRouter({ name: undefined, contact: undefined }))).get(
      '/privacy',
    );
    expect(unset.text).toContain('[your organisation: set OPERATOR_NAME]');
    expect(unset.text).toContain('[contact address: set OPERATOR_CONTACT]');
  });

  it('is linked from the visitor-facing chat page', async () => {
    p.sim.options.appUrl = 'http://app.example.test';
    const page = await (await fetch(`${p.sim.url}/visitor/`)).text();
    expect(page).toContain('href="http://app.example.test/privacy"');
    expect(page).toContain('href="http://app.example.test/terms"');
  });
});
