import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Request, Response } from 'express';
import request from 'supertest';
import { requireSecureChannel } from '../../src/http/admin-router';
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

  it('serves decrypted Data only over TLS or loopback', () => {
    const outcome = (remoteAddress: string, secure: boolean) => {
      let status = 0;
      let passed = false;
      const res = { status: (s: number) => ((status = s), res), json: () => res } as unknown as Response;
      requireSecureChannel(
        { secure, socket: { remoteAddress } } as unknown as Request,
        res,
        () => (passed = true),
      );
      return passed ? 'served' : status;
    };
    expect(outcome('127.0.0.1', false)).toBe('served');
    expect(outcome('::1', false)).toBe('served');
    expect(outcome('203.0.113.9', true)).toBe('served');
    expect(outcome('203.0.113.9', false)).toBe(403);
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

  it('is linked from the visitor-facing chat page', async () => {
    p.sim.options.appUrl = 'http://app.example.test';
    const page = await (await fetch(`${p.sim.url}/visitor/`)).text();
    expect(page).toContain('href="http://app.example.test/privacy"');
    expect(page).toContain('href="http://app.example.test/terms"');
  });
});
