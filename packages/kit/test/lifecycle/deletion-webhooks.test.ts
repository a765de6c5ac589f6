import { readFileSync } from 'node:fs';
import type { StoredMessage, Subject } from '../../src/core/conversation-store';
import { verifyAudit } from '../../src/lifecycle/audit-log';
import { verifySigned, type SignedDocument } from '../../src/lifecycle/receipt-signer';
import { exportSubject } from '../../src/lifecycle/subject-export';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';
import { waitFor } from '../helpers/wait-for';

let seq = 0;
const say = (teamId: string, conversationId: string, subject: Subject, text: string): StoredMessage => ({
  teamId,
  conversationId,
  eventId: `Ev${++seq}`,
  subject,
  sender: subject,
  text,
  ts: String(seq),
});

const ADA: Subject = { kind: 'visitor', id: 'V-ada' };
const BOB: Subject = { kind: 'visitor', id: 'V-bob' };
const AGENT: Subject = { kind: 'agent', id: 'U-alex' };
const OTHER_TEAM_VISITOR: Subject = { kind: 'visitor', id: 'V-cy' };

/** Two teams: Ada and Bob (visitors) and agent Alex in T1; Cy in T2. Each with a marker. */
async function seed(p: LifecyclePair): Promise<void> {
  const { conversations, messages, profiles } = p.storage;
  for (const [team, conv, who] of [
    ['T1', 'C-ada', ADA],
    ['T1', 'C-bob', BOB],
    ['T2', 'C-cy', OTHER_TEAM_VISITOR],
  ] as const) {
    await conversations.put({
      teamId: team,
      conversationId: conv,
      visitorId: who.id,
      status: 'bot',
      startedAt: 1,
    });
    for (let i = 0; i < 5; i++) await messages.append(say(team, conv, who, `MARK-${who.id}-${i}`));
    await profiles.put(team, who, { name: `Name-${who.id}`, email: `${who.id}@example.org` });
  }
  await messages.append(say('T1', 'C-ada', AGENT, `MARK-${AGENT.id}`));
  await profiles.put('T1', AGENT, { name: 'Alex Agent', email: 'alex@support.example' });
}

/** What the access export holds: for a visitor, their conversations whole (Ada's has the agent's message too). */
const held = async (p: LifecyclePair, teamId: string, who: Subject) => {
  const data = await exportSubject(p.storage.sql!.ctx, teamId, who);
  return { messages: (data.messages as unknown[]).length, profile: data.profile !== null };
};

const receipts = async (p: LifecyclePair) =>
  (await p.storage.sql!.db.all<{ document: string }>('SELECT document FROM receipts')).map(
    (r) => JSON.parse(r.document) as SignedDocument,
  );

async function deliver(
  p: LifecyclePair,
  type: Parameters<LifecyclePair['sim']['webhooks']['send']>[0],
  fields: Record<string, unknown>,
) {
  const before = (await receipts(p)).length;
  const report = await p.sim.webhooks.send(type, fields);
  expect(report).toMatchObject({ delivered: true, status: 202 });
  const deadline = Date.now() + 10_000;
  while ((await receipts(p)).length === before) {
    if (Date.now() > deadline) throw new Error('no receipt within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  return report;
}

describe.each(STORAGE_KINDS)('deletion webhooks on %s', (kind) => {
  let p: LifecyclePair;
  beforeEach(async () => {
    p = await startLifecyclePair(kind);
    await seed(p);
  });
  afterEach(() => p.stop());

  it("data_deletion.requested erases exactly that visitor's Data", async () => {
    await deliver(p, 'data_deletion.requested', {
      team_id: 'T1',
      subject: ADA,
      requested_at: '2026-11-28T12:00:00Z',
    });
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 0, profile: false });
    expect(await held(p, 'T1', BOB)).toEqual({ messages: 5, profile: true });
    // The agent's message was in Ada's conversation: it went with it; the agent's profile stays.
    expect(await held(p, 'T1', AGENT)).toEqual({ messages: 0, profile: true });
    expect(await held(p, 'T2', OTHER_TEAM_VISITOR)).toEqual({ messages: 5, profile: true });
    expect(await p.storage.conversations.get('T1', 'C-ada')).toBeUndefined();
    expect(await p.storage.messages.listConversation('T1', 'C-ada')).toEqual([]);
    expect((await p.storage.messages.listConversation('T1', 'C-bob')).map((m) => m.text)).toContain(
      'MARK-V-bob-0',
    );
    const [receipt] = await receipts(p);
    const doc = JSON.parse(receipt!.document);
    expect(doc).toMatchObject({
      event: 'data_deletion.requested',
      team_id: 'T1',
      counts: { messages: 6, profiles: 1, conversations: 1 },
    });
    expect(doc.subject.pseudonym).not.toContain('ada');
    expect(receipt!.document).not.toContain('V-ada');
    expect(doc.keys_destroyed).toHaveLength(1);
    expect(doc.shredded_at - doc.started_at).toBeLessThan(1000);
  });

  it.each([
    ['account.closed', AGENT],
    ['app.deauthorized', AGENT],
  ] as const)("%s erases exactly that agent's Data", async (type, who) => {
    await deliver(p, type, { team_id: 'T1', subject: who });
    expect(await held(p, 'T1', AGENT)).toEqual({ messages: 0, profile: false });
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 5, profile: true });
    expect(await held(p, 'T1', BOB)).toEqual({ messages: 5, profile: true });
  });

  it('app.uninstalled erases the whole team and nothing of another', async () => {
    await deliver(p, 'app.uninstalled', { team_id: 'T1' });
    for (const who of [ADA, BOB, AGENT])
      expect(await held(p, 'T1', who)).toEqual({ messages: 0, profile: false });
    expect(await held(p, 'T2', OTHER_TEAM_VISITOR)).toEqual({ messages: 5, profile: true });
    expect((await p.storage.messages.listConversation('T2', 'C-cy')).map((m) => m.text)).toContain(
      'MARK-V-cy-4',
    );
  });

  it('api_access.terminated erases everything, keys included, keeps the proof and stops the app', async () => {
    await deliver(p, 'api_access.terminated', { app_id: p.sim.options.appId, reason: 'terms breach' });
    const db = p.storage.sql!.db;
    for (const table of ['messages', 'inbox', 'profiles', 'conversations', 'data_keys', 'tombstones']) {
      const [row] = await db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
      expect({ table, n: Number(row?.n) }).toEqual({ table, n: 0 });
    }
    expect(await receipts(p)).toHaveLength(1);
    expect((await verifyAudit(db)).valid).toBe(true);
    await waitFor('app told to stop', () => p.fatal.length === 1);
    expect(p.fatal[0]?.code).toBe('CLICKDESK_TERMINATED');
  });

  it('keeps an erased visitor from coming back through a late event', async () => {
    await deliver(p, 'data_deletion.requested', { team_id: 'T1', subject: ADA });
    await p.storage.messages.append(say('T1', 'C-ada', ADA, 'late message'));
    await p.storage.profiles.put('T1', ADA, { name: 'Ada again' });
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 0, profile: false });
    expect(
      await p.storage.inbox.record({
        eventId: 'Ev-late',
        teamId: 'T1',
        eventTime: 1,
        event: {
          type: 'conversation_started',
          conversationId: 'C-ada2',
          visitor: { id: 'V-ada', name: 'Ada' },
          pageUrl: '',
        },
      }),
    ).toBe('duplicate');
  });

  it('issues receipts that verify, and fail with one altered byte', async () => {
    await deliver(p, 'data_deletion.requested', { team_id: 'T1', subject: BOB });
    const sodium = await loadSodium();
    const [receipt] = await receipts(p);
    expect(verifySigned(sodium, receipt!)).toEqual({ valid: true });
    const altered = { ...receipt!, document: receipt!.document.replace('"messages":5', '"messages":6') };
    expect(verifySigned(sodium, altered).valid).toBe(false);
    const flipped = Buffer.from(receipt!.signature, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(verifySigned(sodium, { ...receipt!, signature: flipped.toString('base64') }).valid).toBe(false);
  });

  if (kind === 'sqlite') {
    it("leaves neither the subject's plaintext nor its ciphertext in the database files", async () => {
      const db = p.storage.sql!.db;
      const ref = p.storage.sql!.ctx.subjectRef('T1', ADA);
      const ciphertexts = (
        await db.all<{ body: Buffer }>('SELECT body FROM messages WHERE team_id = ? AND subject_ref = ?', [
          'T1',
          ref,
        ])
      ).map((r) => r.body.subarray(41, 73));
      expect(ciphertexts).toHaveLength(5);
      await deliver(p, 'data_deletion.requested', { team_id: 'T1', subject: ADA });
      const files = p.fx.files().flatMap((f) => {
        try {
          return [readFileSync(f)];
        } catch {
          return [];
        }
      });
      for (const bytes of files) {
        for (const c of ciphertexts) expect(bytes.includes(c)).toBe(false);
        expect(bytes.includes(Buffer.from('MARK-V-bob-0'))).toBe(false); // still encrypted, never clear
      }
    });
  }
});

describe.each(STORAGE_KINDS)('forged and broken deliveries on %s', (kind) => {
  let p: LifecyclePair;
  beforeAll(async () => {
    p = await startLifecyclePair(kind);
    await seed(p);
  });
  afterAll(() => p.stop());

  const post = (body: string, headers: Record<string, string>) =>
    fetch(p.webhookUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const now = () => Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: 'app.uninstalled', team_id: 'T1' });

  it.each([
    [
      'a forged signature',
      401,
      () => ({
        ...p.sim.webhooks.sign('msg_forged', now(), body),
        'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl',
      }),
    ],
    ['a stale timestamp', 401, () => p.sim.webhooks.sign('msg_stale', now() - 600, body)],
    ['a future timestamp', 401, () => p.sim.webhooks.sign('msg_future', now() + 600, body)],
    ['no signature headers', 401, () => ({})],
  ])('answers %s with %i and erases nothing', async (_what, status, headers) => {
    const res = await post(body, headers());
    expect(res.status).toBe(status);
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 6, profile: true });
  });

  it('answers a malformed (but signed) body with 400 and erases nothing', async () => {
    const bad = JSON.stringify({ type: 'app.uninstalled' });
    const res = await post(bad, p.sim.webhooks.sign('msg_malformed', now(), bad));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/team_id/);
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 6, profile: true });
  });

  it('answers an oversized body with 413 and erases nothing', async () => {
    const big = JSON.stringify({ type: 'app.uninstalled', team_id: 'T1', pad: 'x'.repeat(100_000) });
    const res = await post(big, p.sim.webhooks.sign('msg_big', now(), big));
    expect(res.status).toBe(413);
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 6, profile: true });
  });

  it('answers a replayed webhook-id with 2xx and records no second job', async () => {
    const req = JSON.stringify({
      type: 'data_deletion.requested',
      team_id: 'T2',
      subject: { kind: 'visitor', id: 'V-nobody' },
    });
    const first = await post(req, p.sim.webhooks.sign('msg_replayed', now(), req));
    const again = await post(req, p.sim.webhooks.sign('msg_replayed', now(), req));
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, duplicate: true });
    const [jobs] = await p.storage.sql!.db.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM lifecycle_jobs WHERE webhook_id = 'msg_replayed'",
    );
    expect(Number(jobs?.n)).toBe(1);
  });

  const jobsFor = async (webhookId: string) => {
    const [row] = await p.storage.sql!.db.all<{ n: number }>(
      'SELECT COUNT(*) AS n FROM lifecycle_jobs WHERE webhook_id = ?',
      [webhookId],
    );
    return Number(row?.n);
  };
  const settled = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [open] = await p.storage.sql!.db.all<{ n: number }>(
        "SELECT COUNT(*) AS n FROM lifecycle_jobs WHERE state <> 'done'",
      );
      if (Number(open?.n) === 0) return;
      if (Date.now() > deadline) throw new Error('jobs still open after 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ignoredCount = async (reason: string) => {
    const metric = await p.app.metrics.webhooksIgnored.get();
    return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  };
  const signedPost = (id: string, payload: unknown) => {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return post(text, p.sim.webhooks.sign(id, now(), text));
  };

  it('ignores a signed api_access.terminated for another app: 200, no job, no receipt, nothing erased, app running', async () => {
    await settled(); // jobs of earlier tests have signed their receipts
    const before = { receipts: (await receipts(p)).length, ignored: await ignoredCount('other_app') };
    const res = await signedPost('msg_other_app', {
      type: 'api_access.terminated',
      app_id: 'A0SOMEONE-ELSE',
      reason: 'not you',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, ignored: 'other_app' });
    expect(await jobsFor('msg_other_app')).toBe(0);
    await new Promise((r) => setTimeout(r, 300)); // a worker poll or more: still nothing happens
    expect((await receipts(p)).length).toBe(before.receipts);
    expect(await held(p, 'T1', ADA)).toEqual({ messages: 6, profile: true });
    expect(p.fatal).toEqual([]);
    expect(await ignoredCount('other_app')).toBe(before.ignored + 1);
  });

  it.each([
    ['app.uninstalled', { type: 'app.uninstalled', team_id: 'T-NEVER-HELD' }],
    [
      'data_deletion.requested',
      { type: 'data_deletion.requested', team_id: 'T-NEVER-HELD', subject: { kind: 'visitor', id: 'V-ada' } },
    ],
    [
      'account.closed',
      { type: 'account.closed', team_id: 'T-NEVER-HELD', subject: { kind: 'agent', id: 'U-1' } },
    ],
  ])('ignores a signed %s for a team the app never held: 200, no job, counted', async (type, payload) => {
    const id = `msg_unknown_team_${type}`;
    const before = await ignoredCount('unknown_team');
    const res = await signedPost(id, payload);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, ignored: 'unknown_team' });
    expect(await jobsFor(id)).toBe(0);
    expect(await ignoredCount('unknown_team')).toBe(before + 1);
  });

  it("obeys a team event for the bot token's own team (auth.test) even before anything of it is stored", async () => {
    const res = await signedPost('msg_own_team', {
      type: 'data_deletion.requested',
      team_id: p.sim.team.id,
      subject: { kind: 'visitor', id: 'V-new' },
    });
    expect(res.status).toBe(202);
    expect(await jobsFor('msg_own_team')).toBe(1);
  });

  it('answers a signed body that is not JSON with 400, quoting none of it', async () => {
    const res = await signedPost('msg_not_json', 'PRIVATE-TEXT not json at all');
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ ok: false, error: 'malformed_body', message: 'the body is not JSON' });
    expect(text).not.toMatch(/PRIVATE|not json at all/);
    expect(await jobsFor('msg_not_json')).toBe(0);
  });

  it('refuses a webhook-id longer than 256 characters with 400 and records nothing; 256 is taken', async () => {
    const payload = {
      type: 'data_deletion.requested',
      team_id: 'T2',
      subject: { kind: 'visitor', id: 'V-x' },
    };
    const long = `msg_${'x'.repeat(253)}`;
    const refused = await signedPost(long, payload);
    expect(refused.status).toBe(400);
    expect(await refused.text()).not.toContain('xxxxxxxx');
    expect(await jobsFor(long)).toBe(0);
    const longest = `msg_${'y'.repeat(252)}`;
    expect((await signedPost(longest, payload)).status).toBe(202);
  });
});
