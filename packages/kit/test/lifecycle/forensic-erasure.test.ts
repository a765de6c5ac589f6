import Database from 'better-sqlite3';
import type { StoredMessage, Subject } from '../../src/core/conversation-store';
import { sqliteFile } from '../../src/storage/open-storage';
import { evidence, nextReceipt, occurrences, rawDatabaseFiles, receiptDocs } from '../helpers/forensics';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import pg from 'pg';
import { STORAGE_KINDS, TEST_DATABASE_URL } from '../helpers/storage-fixtures';
import { sleep } from '../helpers/wait-for';

const ADA: Subject = { kind: 'visitor', id: 'V-ada' };
const BOB: Subject = { kind: 'visitor', id: 'V-bob' };
const AGENT: Subject = { kind: 'agent', id: 'U-alex' };
const CY: Subject = { kind: 'visitor', id: 'V-cy' };

let seq = 0;
const msg = (
  teamId: string,
  conversationId: string,
  sender: StoredMessage['sender'],
  subject: Subject | undefined,
): StoredMessage => ({
  teamId,
  conversationId,
  eventId: `Ev${++seq}`,
  subject,
  sender,
  text: `text ${seq} email${seq}@example.org +44 7700 900${String(seq).padStart(3, '0')}`,
  ts: String(seq),
});

/** Ada's and Bob's conversations in T1 (with an agent and the bot talking in Ada's), Cy's in T2. */
async function seed(p: LifecyclePair): Promise<void> {
  const { conversations, messages, profiles, inbox } = p.storage;
  for (const [team, conv, who] of [
    ['T1', 'C-ada', ADA],
    ['T1', 'C-bob', BOB],
    ['T2', 'C-cy', CY],
  ] as const) {
    await conversations.put({
      teamId: team,
      conversationId: conv,
      visitorId: who.id,
      status: 'bot',
      startedAt: 1,
    });
    for (let i = 0; i < 3; i++) await messages.append(msg(team, conv, who, who));
    await profiles.put(team, who, { name: `Name ${who.id}`, email: `${who.id}@example.org` });
    await inbox.record({
      eventId: `Ev-in-${who.id}`,
      teamId: team,
      eventTime: 1,
      event: { type: 'message', conversationId: conv, sender: who, text: 'pending', ts: '1' },
    });
  }
  await messages.append(msg('T1', 'C-ada', AGENT, AGENT));
  await messages.append(msg('T1', 'C-ada', { kind: 'bot', id: 'B1' }, undefined));
  await messages.append(msg('T1', 'C-ada', { kind: 'system', id: 'S' }, ADA));
  await profiles.put('T1', AGENT, { name: 'Alex Agent' });
}

async function deliverAndWait(
  p: LifecyclePair,
  type: 'data_deletion.requested' | 'app.uninstalled',
  fields: object,
) {
  const before = (await receiptDocs(p)).length;
  expect(await p.sim.webhooks.send(type, fields as Record<string, unknown>)).toMatchObject({ status: 202 });
  return nextReceipt(p, before);
}

describe.each(STORAGE_KINDS)('forensic scan of the raw database files on %s', (kind) => {
  let p: LifecyclePair;
  beforeEach(async () => {
    p = await startLifecyclePair(kind);
    await seed(p);
  });
  afterEach(() => p.stop());

  it("seals every message of a visitor's conversation (agent, bot, system) under the visitor's key", async () => {
    const { db, ctx } = p.storage.sql!;
    const ada = ctx.subjectRef('T1', ADA);
    const [key] = await db.all<{ key_id: string }>(
      "SELECT key_id FROM data_keys WHERE team_id = 'T1' AND scope = 'subject' AND subject_ref = ?",
      [ada],
    );
    const rows = await db.all<{ sender_kind: string; body: Buffer }>(
      'SELECT sender_kind, body FROM messages WHERE team_id = ? AND conversation_ref = ?',
      ['T1', ctx.conversationRef('T1', 'C-ada')],
    );
    // Three appended visitor messages, and the pending event, stored once as its message.
    expect(rows.map((r) => r.sender_kind).sort()).toEqual([
      'agent',
      'bot',
      'system',
      'visitor',
      'visitor',
      'visitor',
      'visitor',
    ]);
    for (const r of rows) expect(ctx.cipher.keyIdOf(r.body)).toBe(key!.key_id);
  });

  it('after data_deletion.requested, no wrapped key and no ciphertext of the visitor is left in the files once layer (b) is signed', async () => {
    const { ctx } = p.storage.sql!;
    const ada = ctx.subjectRef('T1', ADA);
    const adaConv = ctx.conversationRef('T1', 'C-ada');
    const gone = await evidence(
      p,
      [
        "SELECT wrapped AS v FROM data_keys WHERE team_id = 'T1' AND scope = 'subject' AND subject_ref = ?",
        [ada],
      ],
      [
        [
          "SELECT body AS v FROM messages WHERE team_id = 'T1' AND (subject_ref = ? OR conversation_ref = ?)",
          [ada, adaConv],
        ],
        ["SELECT body AS v FROM profiles WHERE team_id = 'T1' AND subject_ref = ?", [ada]],
        ["SELECT body AS v FROM conversations WHERE team_id = 'T1' AND visitor_ref = ?", [ada]],
        [
          "SELECT payload AS v FROM inbox WHERE team_id = 'T1' AND subject_ref = ? AND payload IS NOT NULL",
          [ada],
        ],
      ],
    );
    expect(gone.wrappedKeys).toHaveLength(1);
    expect(gone.ciphertexts).toHaveLength(6 + 1 + 1 + 1);
    const bob = ctx.subjectRef('T1', BOB);
    const kept = await evidence(
      p,
      ["SELECT wrapped AS v FROM data_keys WHERE team_id = 'T1' AND subject_ref = ?", [bob]],
      [["SELECT body AS v FROM messages WHERE team_id = 'T1' AND subject_ref = ?", [bob]]],
    );

    const receipt = await deliverAndWait(p, 'data_deletion.requested', { team_id: 'T1', subject: ADA });
    expect(receipt.layers.unreadable.at).toEqual(expect.any(String));
    expect(receipt.layers.purged_from_engine).toMatchObject({ at: expect.any(String), engine: kind });
    expect(receipt.layers.irrecoverable_from_copies).toMatchObject({
      at: null,
      requires_retired_master_keys: [p.storage.sql!.keys.currentMasterKeyId],
    });
    expect(receipt.method).toContain(kind === 'postgres' ? 'PostgreSQL' : 'SQLite');
    expect(JSON.stringify(receipt)).not.toMatch(
      kind === 'postgres' ? /SQLite|secure_delete/ : /VACUUM FULL|PostgreSQL/,
    );

    const files = await rawDatabaseFiles(p.fx);
    expect(files.length).toBeGreaterThan(0);
    expect(occurrences(files, gone.wrappedKeys)).toEqual([]);
    expect(occurrences(files, gone.ciphertexts)).toEqual([]);
    // The scan does find what is still there (Bob's key and messages): an empty result means gone.
    expect(occurrences(files, kept.wrappedKeys)).toEqual([0]);
    expect(occurrences(files, kept.ciphertexts)).toHaveLength(kept.ciphertexts.length);
  });

  it('after app.uninstalled, no wrapped key and no ciphertext of the team is left in the files once layer (b) is signed', async () => {
    const gone = await evidence(
      p,
      ["SELECT wrapped AS v FROM data_keys WHERE team_id = 'T1' AND wrapped IS NOT NULL", []],
      [
        ["SELECT body AS v FROM messages WHERE team_id = 'T1'", []],
        ["SELECT body AS v FROM profiles WHERE team_id = 'T1'", []],
        ["SELECT body AS v FROM conversations WHERE team_id = 'T1'", []],
        ["SELECT payload AS v FROM inbox WHERE team_id = 'T1' AND payload IS NOT NULL", []],
      ],
    );
    expect(gone.wrappedKeys).toHaveLength(3); // Ada, Bob, the agent
    expect(gone.ciphertexts).toHaveLength(9 + 3 + 2 + 2);
    const kept = await evidence(
      p,
      ["SELECT wrapped AS v FROM data_keys WHERE team_id = 'T2' AND wrapped IS NOT NULL", []],
      [["SELECT body AS v FROM messages WHERE team_id = 'T2'", []]],
    );

    const receipt = await deliverAndWait(p, 'app.uninstalled', { team_id: 'T1' });
    expect(receipt.layers.purged_from_engine.at).toEqual(expect.any(String));

    const files = await rawDatabaseFiles(p.fx);
    expect(occurrences(files, gone.wrappedKeys)).toEqual([]);
    expect(occurrences(files, gone.ciphertexts)).toEqual([]);
    expect(occurrences(files, kept.wrappedKeys)).toHaveLength(kept.wrappedKeys.length);
    expect(occurrences(files, kept.ciphertexts)).toHaveLength(kept.ciphertexts.length);
  });

  if (kind === 'postgres') {
    it('signs no receipt while an open transaction still sees the erased rows, and purges them once it ends', async () => {
      // Any transaction in the database holding an older snapshot keeps dead rows "recently dead":
      // VACUUM FULL copies them into the new file. The purge must notice and wait.
      const holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await holder.query(`SELECT COUNT(*) FROM ${p.fx.pgSchema}.audit_log`); // a snapshot, and no lock on the purged tables
        const ada = p.storage.sql!.ctx.subjectRef('T1', ADA);
        const gone = await evidence(
          p,
          ["SELECT wrapped AS v FROM data_keys WHERE team_id = 'T1' AND subject_ref = ?", [ada]],
          [["SELECT body AS v FROM messages WHERE team_id = 'T1' AND subject_ref = ?", [ada]]],
        );
        expect(
          await p.sim.webhooks.send('data_deletion.requested', { team_id: 'T1', subject: ADA }),
        ).toMatchObject({
          status: 202,
        });
        const step = async () =>
          (
            await p.storage.sql!.db.all<{ progress: string }>(
              "SELECT progress FROM lifecycle_jobs WHERE type = 'data_deletion.requested'",
            )
          ).map((r) => (JSON.parse(r.progress) as { step: string }).step)[0];
        const deadline = Date.now() + 10_000;
        while ((await step()) !== 'purging') {
          if (Date.now() > deadline) throw new Error('job never reached the purge');
          await sleep(20);
        }
        await sleep(1_500); // VACUUM FULL runs meanwhile and reports rows it could not remove
        expect(await step()).toBe('purging');
        expect(await receiptDocs(p)).toEqual([]);

        await holder.query('COMMIT');
        const done = Date.now() + 30_000;
        while ((await receiptDocs(p)).length === 0) {
          if (Date.now() > done) throw new Error('no receipt after the transaction ended');
          await sleep(20);
        }
        const files = await rawDatabaseFiles(p.fx);
        expect(occurrences(files, [...gone.wrappedKeys, ...gone.ciphertexts])).toEqual([]);
      } finally {
        await holder.end();
      }
    });
  }

  if (kind === 'sqlite') {
    it('signs no receipt while a reader keeps the WAL from being emptied, and purges it once the reader lets go', async () => {
      const reader = new Database(sqliteFile(p.fx.dataDir), { readonly: true });
      try {
        reader.exec('BEGIN');
        reader.prepare('SELECT COUNT(*) FROM messages').get(); // holds a snapshot: TRUNCATE cannot finish
        const ada = p.storage.sql!.ctx.subjectRef('T1', ADA);
        const gone = await evidence(
          p,
          ["SELECT wrapped AS v FROM data_keys WHERE team_id = 'T1' AND subject_ref = ?", [ada]],
          [["SELECT body AS v FROM messages WHERE team_id = 'T1' AND subject_ref = ?", [ada]]],
        );
        expect(
          await p.sim.webhooks.send('data_deletion.requested', { team_id: 'T1', subject: ADA }),
        ).toMatchObject({
          status: 202,
        });
        const step = async () =>
          (
            await p.storage.sql!.db.all<{ progress: string }>(
              "SELECT progress FROM lifecycle_jobs WHERE type = 'data_deletion.requested'",
            )
          ).map((r) => (JSON.parse(r.progress) as { step: string }).step)[0];
        let current: string | undefined;
        const deadline = Date.now() + 10_000;
        while ((current = await step()) !== 'purging') {
          if (Date.now() > deadline) throw new Error(`job never reached the purge (step ${current})`);
          await sleep(20);
        }
        await sleep(1_500); // several checkpoint attempts fail meanwhile
        expect(await step()).toBe('purging');
        expect(await receiptDocs(p)).toEqual([]);

        reader.exec('COMMIT');
        const done = Date.now() + 10_000;
        while ((await receiptDocs(p)).length === 0) {
          if (Date.now() > done) throw new Error('no receipt after the reader let go');
          await sleep(20);
        }
        expect(occurrences(await rawDatabaseFiles(p.fx), [...gone.wrappedKeys, ...gone.ciphertexts])).toEqual(
          [],
        );
      } finally {
        reader.close();
      }
    });
  }
});
