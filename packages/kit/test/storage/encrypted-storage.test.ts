import { readFileSync } from 'node:fs';
import type { InboundEvent } from '../../src/core/chat-event';
import type { StoredMessage } from '../../src/core/conversation-store';
import { generateMasterKeyText } from '../../src/storage/crypto/master-keys';
import type { Storage } from '../../src/storage/open-storage';
import { SqlEventInbox } from '../../src/storage/sql/sql-event-inbox';
import { StorageContext } from '../../src/storage/sql/storage-context';
import { adminQuery, STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const TEAM = 'T1';
let seq = 0;
const event = (overrides: Partial<InboundEvent> = {}): InboundEvent => ({
  eventId: `Ev${++seq}-${Date.now()}`,
  teamId: TEAM,
  eventTime: 1_764_370_000,
  event: {
    type: 'message',
    conversationId: 'C1',
    sender: { kind: 'visitor', id: 'V1' },
    text: 'hello',
    ts: '1.0',
  },
  ...overrides,
});
const message = (conversationId: string, visitorId: string, text: string): StoredMessage => ({
  teamId: TEAM,
  conversationId,
  eventId: `Ev${++seq}`,
  subject: { kind: 'visitor', id: visitorId },
  sender: { kind: 'visitor', id: visitorId },
  text,
  ts: String(seq),
});

describe.each(STORAGE_KINDS)('encrypted storage on %s', (kind) => {
  let fx: StorageFixture;
  let storage: Storage;
  beforeEach(async () => {
    fx = await storageFixture(kind);
    storage = await fx.open();
  });
  afterEach(async () => {
    await storage.close();
    await fx.cleanup();
  });

  it('records an event once and reports the redelivery as a duplicate', async () => {
    const e = event();
    expect(await storage.inbox.record(e)).toBe('recorded');
    expect(await storage.inbox.record(e)).toBe('duplicate');
    await storage.inbox.complete(e.eventId, { effects: [] });
    expect(await storage.inbox.record(e)).toBe('duplicate');
  });

  it('deduplicates across two instances sharing the database', async () => {
    const other = await fx.open();
    try {
      const events = Array.from({ length: 50 }, () => event());
      const results = await Promise.all(
        events.flatMap((e) => [storage.inbox.record(e), other.inbox.record(e)]),
      );
      expect(results.filter((r) => r === 'recorded')).toHaveLength(50);
      expect(results.filter((r) => r === 'duplicate')).toHaveLength(50);
    } finally {
      await other.close();
    }
  });

  it('replays an unhandled event only once its lease ran out, to one instance', async () => {
    let now = 1_000_000;
    const ctx = new StorageContext(storage.sql!.db, storage.sql!.keys, storage.sql!.ctx.cipher, () => now);
    const a = new SqlEventInbox(ctx, { instanceId: 'a', leaseMs: 60_000 });
    const b = new SqlEventInbox(ctx, { instanceId: 'b', leaseMs: 60_000 });
    const e = event();
    await a.record(e);
    expect(await b.unhandled(10)).toEqual([]);
    now += 61_000;
    const [replayed] = await b.unhandled(10);
    expect(replayed).toEqual(e);
    expect(await a.unhandled(10)).toEqual([]);
    expect(await b.complete(e.eventId, { effects: [] })).toBe('completed');
    now += 600_000;
    expect(await a.unhandled(10)).toEqual([]);
  });

  it('stores and reads back messages, conversations and profiles', async () => {
    await storage.conversations.put({
      teamId: TEAM,
      conversationId: 'C9',
      visitorId: 'V9',
      status: 'bot',
      startedAt: 5,
    });
    await storage.messages.append(message('C9', 'V9', 'first'));
    await storage.messages.append(message('C9', 'V9', 'second'));
    await storage.profiles.put(
      TEAM,
      { kind: 'visitor', id: 'V9' },
      { name: 'Nia', email: 'nia@example.org' },
    );
    expect(await storage.conversations.get(TEAM, 'C9')).toEqual({
      teamId: TEAM,
      conversationId: 'C9',
      visitorId: 'V9',
      status: 'bot',
      startedAt: 5,
    });
    expect((await storage.messages.listConversation(TEAM, 'C9')).map((m) => m.text)).toEqual([
      'first',
      'second',
    ]);
    expect(await storage.profiles.get(TEAM, { kind: 'visitor', id: 'V9' })).toEqual({
      name: 'Nia',
      email: 'nia@example.org',
    });
  });

  it('keeps no name, email or message text in clear anywhere in the database', async () => {
    const marker = `MARKER-${Date.now()}-ZQX`;
    const email = 'ada.lovelace+secret@example.org';
    const name = 'Augusta Ada Byron';
    await storage.conversations.put({
      teamId: TEAM,
      conversationId: 'C-ada',
      visitorId: 'V-ada',
      status: 'bot',
      startedAt: 1,
    });
    for (let i = 0; i < 20; i++)
      await storage.messages.append(message('C-ada', 'V-ada', `${marker} ${i} write to ${email}`));
    await storage.profiles.put(TEAM, { kind: 'visitor', id: 'V-ada' }, { name, email });
    await storage.profiles.putTeam(TEAM, { name: `${marker} team` });
    await storage.inbox.record(
      event({
        event: {
          type: 'conversation_started',
          conversationId: 'C-ada',
          visitor: { id: 'V-ada', name },
          pageUrl: '',
        },
      }),
    );
    await storage.inbox.record(
      event({
        event: {
          type: 'message',
          conversationId: 'C-ada',
          sender: { kind: 'visitor', id: 'V-ada' },
          text: marker,
          ts: '1',
        },
      }),
    );

    for (const needle of [marker, email, name, 'V-ada', 'C-ada']) {
      const haystacks = await rawContents(fx, storage);
      for (const [where, bytes] of haystacks)
        expect({ where, found: bytes.includes(Buffer.from(needle)) }).toEqual({ where, found: false });
    }
  });

  it('refuses a ciphertext moved to another row, with a clear error', async () => {
    const a = message('C-swap', 'V-swap', 'belongs to A');
    const b = message('C-swap', 'V-swap', 'belongs to B');
    await storage.messages.append(a);
    await storage.messages.append(b);
    const db = storage.sql!.db;
    const [rowA] = await db.all<{ body: Buffer }>('SELECT body FROM messages WHERE event_id = ?', [
      a.eventId,
    ]);
    await db.run('UPDATE messages SET body = ? WHERE event_id = ?', [rowA!.body, b.eventId]);
    await expect(storage.messages.listConversation(TEAM, 'C-swap')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
      message: expect.stringMatching(
        /cannot decrypt messages\.body of record .*: authentication failed \(tampered, moved/,
      ),
    });
  });

  it('refuses a tampered ciphertext instead of returning garbage', async () => {
    const m = message('C-tamper', 'V-tamper', 'original text');
    await storage.messages.append(m);
    const db = storage.sql!.db;
    const [row] = await db.all<{ body: Buffer }>('SELECT body FROM messages WHERE event_id = ?', [m.eventId]);
    const altered = Buffer.from(row!.body);
    altered[altered.length - 20] = (altered[altered.length - 20] ?? 0) ^ 0x01;
    await db.run('UPDATE messages SET body = ? WHERE event_id = ?', [altered, m.eventId]);
    await expect(storage.messages.listConversation(TEAM, 'C-tamper')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
  });

  it("makes a shredded subject's Data unreadable at once, leaving others intact", async () => {
    await storage.messages.append(message('C-gone', 'V-gone', 'forget me'));
    await storage.messages.append(message('C-stay', 'V-stay', 'keep me'));
    await storage.profiles.put(TEAM, { kind: 'visitor', id: 'V-gone' }, { name: 'Gone' });
    const ref = storage.sql!.ctx.subjectRef(TEAM, { kind: 'visitor', id: 'V-gone' });
    const destroyed = await storage.sql!.keys.destroy(TEAM, 'subject', ref);
    expect(destroyed).toHaveLength(1);
    expect(await storage.messages.listConversation(TEAM, 'C-gone')).toEqual([]);
    expect(await storage.profiles.get(TEAM, { kind: 'visitor', id: 'V-gone' })).toBeUndefined();
    expect((await storage.messages.listConversation(TEAM, 'C-stay')).map((m) => m.text)).toEqual(['keep me']);
    // A fresh instance (no cached keys) cannot read it either: the wrapped key is gone from the database.
    const fresh = await fx.open();
    try {
      expect(await fresh.messages.listConversation(TEAM, 'C-gone')).toEqual([]);
      const [key] = await fresh.sql!.db.all<{ wrapped: Buffer | null }>(
        'SELECT wrapped FROM data_keys WHERE key_id = ?',
        [destroyed[0]],
      );
      expect(key?.wrapped).toBeNull();
    } finally {
      await fresh.close();
    }
  });

  it('rotates the master key while traffic continues, old keys decrypting until the re-wrap completes', async () => {
    for (let i = 0; i < 30; i++)
      await storage.messages.append(message(`C-rot${i % 5}`, `V-rot${i}`, `before ${i}`));
    const newKey = generateMasterKeyText();
    const rotated = await fx.open({ masterKeys: { key: newKey, previous: [fx.masterKey] } });
    try {
      let writing = true;
      let written = 0;
      const traffic = (async () => {
        while (writing) {
          await rotated.messages.append(
            message(`C-rot${written % 5}`, `V-new${written}`, `during ${written}`),
          );
          written++;
        }
      })();
      const progress: number[] = [];
      const rewrapped = await rotated.sql!.keys.rewrap((done) => progress.push(done), 7);
      writing = false;
      await traffic;
      expect(rewrapped).toBeGreaterThanOrEqual(30);
      expect(progress.length).toBeGreaterThan(1);
      const status = await rotated.sql!.keys.wrapStatus();
      expect(status).toEqual([expect.objectContaining({ current: true })]);

      // Only the new key from here on: every message, old and new, still decrypts.
      const onlyNew = await fx.open({ masterKeys: { key: newKey, previous: [] } });
      try {
        let total = 0;
        for (let c = 0; c < 5; c++)
          total += (await onlyNew.messages.listConversation(TEAM, `C-rot${c}`)).length;
        expect(total).toBe(30 + written);
      } finally {
        await onlyNew.close();
      }
    } finally {
      await rotated.close();
    }
  });

  it('refuses to start with a master key that did not wrap the stored keys, naming the fix', async () => {
    await expect(
      fx.open({ masterKeys: { key: generateMasterKeyText(), previous: [] } }),
    ).rejects.toMatchObject({
      code: 'MASTER_KEY_UNKNOWN',
      message: expect.stringMatching(/MASTER_KEY_PREVIOUS/),
    });
  });
});

describe('master key loading', () => {
  it.each([
    ['too short', 'c2hvcnQ='],
    ['not base64', 'this is not a key at all, not even close!!!'],
  ])('refuses a malformed key (%s) with a clear message', async (_why, key) => {
    const fx = await storageFixture('sqlite');
    try {
      await expect(fx.open({ masterKeys: { key, previous: [] } })).rejects.toMatchObject({
        code: 'MASTER_KEY_INVALID',
        message: expect.stringMatching(
          /MASTER_KEY is not a master key: expected 32 random bytes in base64.*npm run keys -- generate/,
        ),
      });
    } finally {
      await fx.cleanup();
    }
  });

  it('refuses to start without a key outside sandbox mode', async () => {
    const fx = await storageFixture('sqlite');
    try {
      await expect(fx.open({ masterKeys: { previous: [] } })).rejects.toMatchObject({
        code: 'MASTER_KEY_MISSING',
      });
    } finally {
      await fx.cleanup();
    }
  });

  it('generates a sandbox key with 0600 permissions on first start and reuses it', async () => {
    const fx = await storageFixture('sqlite');
    try {
      const first = await fx.open({ masterKeys: { previous: [], generateInto: fx.dataDir } });
      await first.messages.append(message('C1', 'V1', 'kept'));
      await first.close();
      const { statSync } = await import('node:fs');
      expect(statSync(`${fx.dataDir}/master.key`).mode & 0o777).toBe(0o600);
      const again = await fx.open({ masterKeys: { previous: [], generateInto: fx.dataDir } });
      expect((await again.messages.listConversation(TEAM, 'C1')).map((m) => m.text)).toEqual(['kept']);
      await again.close();
    } finally {
      await fx.cleanup();
    }
  });
});

/** The raw bytes a person with the disk (or a database dump) would see. */
async function rawContents(fx: StorageFixture, storage: Storage): Promise<Array<[string, Buffer]>> {
  if (fx.kind === 'sqlite') {
    return fx.files().flatMap((f) => {
      try {
        return [[f, readFileSync(f)] as [string, Buffer]];
      } catch {
        return [];
      }
    });
  }
  const tables = await adminQuery(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
    [fx.pgSchema],
  );
  const out: Array<[string, Buffer]> = [];
  for (const { table_name: table } of tables.rows as Array<{ table_name: string }>) {
    const rows = await storage.sql!.db.all<Record<string, unknown>>(`SELECT * FROM ${table}`);
    const flat = rows.flatMap((r) =>
      Object.values(r).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))),
    );
    out.push([`${fx.pgSchema}.${table}`, Buffer.concat(flat)]);
  }
  return out;
}
