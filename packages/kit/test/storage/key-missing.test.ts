import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { StoredMessage } from '../../src/core/conversation-store';
import type { CryptoOutcome } from '../../src/storage/crypto/key-ring';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';

const V1 = { kind: 'visitor' as const, id: 'V1' };
const say = (i: number): StoredMessage => ({
  teamId: 'T1',
  conversationId: 'C1',
  eventId: `Ev-${i}`,
  subject: V1,
  sender: V1,
  text: `message ${i}`,
  ts: String(i),
});

describe.each(STORAGE_KINDS)('a record whose data key is missing, on %s', (kind) => {
  let p: LifecyclePair;
  const seen: Array<[string, CryptoOutcome]> = [];
  const logged: unknown[] = [];
  beforeEach(async () => {
    p = await startLifecyclePair(kind, {
      storage: {
        observer: { operation: (op, outcome) => seen.push([op, outcome]) },
        logger: { error: (obj: unknown) => logged.push(obj) },
      },
    });
    for (let i = 0; i < 5; i++) await p.storage.messages.append(say(i));
    seen.length = 0;
    logged.length = 0;
  });
  afterEach(() => p.stop());

  async function corruptKeyIdOf(eventId: string): Promise<void> {
    const db = p.storage.sql!.db;
    const [row] = await db.all<{ body: Buffer }>('SELECT body FROM messages WHERE event_id = ?', [eventId]);
    const body = Buffer.from(row!.body);
    randomBytes(16).copy(body, 1); // the key id: names a key that was never stored
    await db.run('UPDATE messages SET body = ? WHERE event_id = ?', [body, eventId]);
  }

  it('fails the read with KEY_MISSING (logged and counted) instead of dropping the record', async () => {
    await corruptKeyIdOf('Ev-3');
    await expect(p.storage.messages.listConversation('T1', 'C1')).rejects.toMatchObject({
      code: 'KEY_MISSING',
    });
    expect(seen).toContainEqual(['decrypt', 'key_missing']);
    expect(logged).toContainEqual(
      expect.objectContaining({ code: 'KEY_MISSING', table: 'messages', recordId: 'Ev-3' }),
    );
    expect(JSON.stringify(logged)).not.toContain('message 3');
  });

  it('answers the access export with 500 KEY_MISSING, not 200 with 4 of 5 messages', async () => {
    await corruptKeyIdOf('Ev-2');
    const res = await request(p.app.http)
      .get('/admin/subjects/visitor/V1?team_id=T1')
      .set('authorization', 'Bearer an-admin-token-of-enough-length');
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ ok: false, error: 'KEY_MISSING' });
  });

  it('tells a destroyed key (an erasure: the record is gone) from a missing one', async () => {
    const { keys, ctx } = p.storage.sql!;
    await keys.destroy('T1', 'subject', ctx.subjectRef('T1', V1));
    expect(await p.storage.messages.listConversation('T1', 'C1')).toEqual([]);
    expect(seen).toContainEqual(['decrypt', 'key_destroyed']);
    expect(seen).not.toContainEqual(['decrypt', 'key_missing']);
  });

  describe("a record naming another subject's destroyed key", () => {
    const V2 = { kind: 'visitor' as const, id: 'V2' };
    /** V2's key destroyed (V2 erased); V1's message Ev-3 rewritten to name that key. */
    async function swapInErasedKey(): Promise<void> {
      const { db, ctx, keys } = p.storage.sql!;
      await p.storage.messages.append({ ...say(99), conversationId: 'C2', subject: V2, sender: V2 });
      const [v2row] = await db.all<{ body: Buffer }>("SELECT body FROM messages WHERE event_id = 'Ev-99'");
      await keys.destroy('T1', 'subject', ctx.subjectRef('T1', V2));
      const [row] = await db.all<{ body: Buffer }>("SELECT body FROM messages WHERE event_id = 'Ev-3'");
      const body = Buffer.from(row!.body);
      Buffer.from(ctx.cipher.keyIdOf(v2row!.body), 'hex').copy(body, 1); // the key id field
      await db.run("UPDATE messages SET body = ? WHERE event_id = 'Ev-3'", [body]);
      seen.length = 0;
      logged.length = 0;
    }

    it('fails the read with KEY_MISSING (logged, counted), never as erased', async () => {
      await swapInErasedKey();
      await expect(p.storage.messages.listConversation('T1', 'C1')).rejects.toMatchObject({
        code: 'KEY_MISSING',
      });
      expect(seen).toContainEqual(['decrypt', 'key_missing']);
      expect(seen).not.toContainEqual(['decrypt', 'key_destroyed']);
      expect(logged).toContainEqual(
        expect.objectContaining({ code: 'KEY_MISSING', table: 'messages', recordId: 'Ev-3' }),
      );
    });

    it('answers the access export with 500 KEY_MISSING, not 200 {erased: false} with 4 of 5 messages', async () => {
      await swapInErasedKey();
      const res = await request(p.app.http)
        .get('/admin/subjects/visitor/V1?team_id=T1')
        .set('authorization', 'Bearer an-admin-token-of-enough-length');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ ok: false, error: 'KEY_MISSING' });
    });

    it("still reads the agent's message in an erased visitor's conversation as erased (the visitor's key seals it)", async () => {
      const { ctx, keys } = p.storage.sql!;
      await p.storage.conversations.put({
        teamId: 'T1',
        conversationId: 'C1',
        visitorId: 'V1',
        status: 'bot',
        startedAt: 1,
      });
      const agent = { kind: 'agent' as const, id: 'U1' };
      await p.storage.messages.append({ ...say(50), subject: agent, sender: agent });
      await keys.destroy('T1', 'subject', ctx.subjectRef('T1', V1));
      seen.length = 0;
      expect(await p.storage.messages.listConversation('T1', 'C1')).toEqual([]);
      expect(seen).toContainEqual(['decrypt', 'key_destroyed']);
      expect(seen).not.toContainEqual(['decrypt', 'key_missing']);
    });
  });
});
