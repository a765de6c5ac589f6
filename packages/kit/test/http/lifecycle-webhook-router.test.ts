import { createHmac } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { lifecycleWebhookRouter } from '../../src/http/lifecycle-webhook-router';
import { AppIdentity, storageHoldsTeam, type Me } from '../../src/lifecycle/app-identity';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { createLogger } from '../../src/logging/create-logger';
import type { Storage } from '../../src/storage/open-storage';
import { storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const SECRET = `whsec_${Buffer.from('router-test-secret-0123456789abcdef').toString('base64')}`;
const signer = new Webhook(SECRET);

describe('POST /webhooks/clickdesk: addressing and hostile input', () => {
  let fx: StorageFixture;
  let storage: Storage;
  let logs: string[];
  let whoAmI: () => Promise<Me>;
  let asked: number;
  let app: express.Express;
  let identity: AppIdentity;
  beforeAll(async () => {
    fx = await storageFixture('sqlite');
    storage = await fx.open();
  });
  afterAll(async () => {
    await storage.close();
    await fx.cleanup();
  });
  const build = (configuredAppId?: string) => {
    logs = [];
    asked = 0;
    identity = new AppIdentity({
      configuredAppId,
      whoAmI: () => {
        asked += 1;
        return whoAmI();
      },
      holdsTeam: storageHoldsTeam(storage.sql!.db),
    });
    app = express().use(
      '/webhooks/clickdesk',
      lifecycleWebhookRouter({
        secrets: [SECRET],
        jobs: new LifecycleJobs(storage.sql!.db),
        refOf: (team, kind, id) => storage.sql!.ctx.subjectRef(team, { kind, id }),
        onJob: () => undefined,
        addressee: identity,
        logger: createLogger('info', { write: (line: string) => void logs.push(line) }),
      }),
    );
  };
  beforeEach(() => {
    whoAmI = () => Promise.resolve({ appId: 'A-ME', teamId: 'T-MINE' });
    build();
  });

  let seq = 0;
  const send = (payload: unknown, id = `msg_router_${++seq}`) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const now = new Date();
    return request(app)
      .post('/webhooks/clickdesk')
      .set('content-type', 'application/json')
      .set('webhook-id', id)
      .set('webhook-timestamp', String(Math.floor(now.getTime() / 1000)))
      .set('webhook-signature', signer.sign(id, now, body))
      .send(body);
  };

  it('logs an ignored webhook with what it would have done, and records nothing', async () => {
    const res = await send({ type: 'api_access.terminated', app_id: 'A-OTHER' }, 'msg_ignored');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, ignored: 'other_app' });
    const line = JSON.parse(logs.find((l) => l.includes('not addressed'))!) as Record<string, unknown>;
    expect(line).toMatchObject({
      webhookId: 'msg_ignored',
      type: 'api_access.terminated',
      reason: 'other_app',
      wouldErase: 'everything',
    });
    const jobs = await storage.sql!.db.all("SELECT 1 FROM lifecycle_jobs WHERE webhook_id = 'msg_ignored'");
    expect(jobs).toHaveLength(0);
  });

  it('refuses a validly signed webhook whose timestamp is not plain digits (T.999xyz) with 400 and records nothing', async () => {
    const body = JSON.stringify({ type: 'app.uninstalled', team_id: 'T-MINE' });
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const seconds = Math.floor(Date.now() / 1000);
    for (const [i, timestamp] of [`${seconds}.999xyz`, `${seconds}abc`, `+${seconds}`].entries()) {
      const id = `msg_odd_timestamp_${i}`;
      // Signed as the library checks it: over the whole seconds it reads from the header.
      const mac = createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64');
      const res = await request(app)
        .post('/webhooks/clickdesk')
        .set('content-type', 'application/json')
        .set('webhook-id', id)
        .set('webhook-timestamp', timestamp)
        .set('webhook-signature', `v1,${mac}`)
        .send(body);
      expect([timestamp, res.status]).toEqual([timestamp, 400]);
      expect(res.body.error).toBe('malformed_headers');
      const jobs = await storage.sql!.db.all(`SELECT 1 FROM lifecycle_jobs WHERE webhook_id = '${id}'`);
      expect(jobs).toHaveLength(0);
    }
  });

  it('neither answers with nor logs a signed body that is not JSON', async () => {
    const res = await send('PRIVATE-BODY-TEXT {not json');
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('PRIVATE');
    expect(logs.join('\n')).not.toContain('PRIVATE');
    expect(logs.join('\n')).toMatch(/body is not JSON/);
  });

  it('neither answers with nor logs an oversized webhook-id', async () => {
    const id = `msg_${'Z'.repeat(15_000)}`;
    const res = await send({ type: 'app.uninstalled', team_id: 'T-MINE' }, id);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('webhook-id is longer than 256 characters');
    expect(logs.join('\n')).not.toContain('ZZZZ');
    expect(logs.join('\n')).toMatch(/"webhookIdLength":15004/);
  });

  it('answers 503 while it cannot tell who it is, so ClickDesk retries; then obeys', async () => {
    whoAmI = () => Promise.reject(new Error('connect ECONNREFUSED'));
    build();
    const payload = { type: 'app.uninstalled', team_id: 'T-MINE' };
    const first = await send(payload, 'msg_retry_later');
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ error: 'addressee_unknown' });
    whoAmI = () => Promise.resolve({ appId: 'A-ME', teamId: 'T-MINE' });
    const retry = await send(payload, 'msg_retry_later');
    expect(retry.status).toBe(202);
  });

  it('believes CLICKDESK_APP_ID for termination without asking auth.test', async () => {
    whoAmI = () => Promise.reject(new Error('token revoked'));
    build('A-CONFIGURED');
    expect((await send({ type: 'api_access.terminated', app_id: 'A-ME' })).body).toEqual({
      ok: true,
      ignored: 'other_app',
    });
    expect(
      (await send({ type: 'api_access.terminated', app_id: 'A-CONFIGURED' }, 'msg_term_cfg')).status,
    ).toBe(202);
    expect(asked).toBe(0);
  });

  it('refuses to run with a CLICKDESK_APP_ID that auth.test contradicts', async () => {
    build('A-WRONG');
    await expect(identity.resolve()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /CLICKDESK_APP_ID is "A-WRONG" but ClickDesk \(auth.test\) says this app is "A-ME"/,
      ),
    });
  });

  it('holds a team it stores anything of, besides its own', async () => {
    await storage.conversations.put({
      teamId: 'T-SEEN',
      conversationId: 'C1',
      visitorId: 'V1',
      status: 'bot',
      startedAt: 1,
    });
    expect((await send({ type: 'app.uninstalled', team_id: 'T-SEEN' })).status).toBe(202);
    expect((await send({ type: 'app.uninstalled', team_id: 'T-UNSEEN' })).body).toEqual({
      ok: true,
      ignored: 'unknown_team',
    });
  });

  it.each(['*', '', ' ', 'T*', '*T', 'T 1', '../T1', 'T1\n', 'x'.repeat(101)])(
    'refuses a signed webhook for the reserved or malformed team id %j with 400: no job, receipt or tombstone',
    async (teamId) => {
      const countAll = async () =>
        Promise.all(
          ['lifecycle_jobs', 'receipts', 'tombstones'].map(
            async (t) => (await storage.sql!.db.all(`SELECT 1 FROM ${t}`)).length,
          ),
        );
      const before = await countAll();
      for (const payload of [
        { type: 'app.uninstalled', team_id: teamId },
        { type: 'data_deletion.requested', team_id: teamId, subject: { kind: 'visitor', id: 'V1' } },
        { type: 'account.closed', team_id: teamId, subject: { kind: 'agent', id: 'U1' } },
      ]) {
        const res = await send(payload);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('malformed_body');
      }
      expect(await countAll()).toEqual(before);
    },
  );

  it('never counts the reserved team * as one it holds, though its own index key is stored under it', async () => {
    const indexRows = await storage.sql!.db.all("SELECT 1 FROM data_keys WHERE team_id = '*'");
    expect(indexRows.length).toBeGreaterThan(0);
    expect(await storageHoldsTeam(storage.sql!.db)('*')).toBe(false);
    expect(await storageHoldsTeam(storage.sql!.db)('')).toBe(false);
  });
});
