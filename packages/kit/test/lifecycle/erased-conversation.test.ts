import type { StoredMessage, Subject } from '../../src/core/conversation-store';
import { FaqHandler } from '../helpers/faq-handler';
import { occurrences, rawDatabaseFiles } from '../helpers/forensics';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';
import { sleep } from '../helpers/wait-for';

const QUESTIONS = 12;
jest.setTimeout(120_000);

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Terms 6.3: a visitor's erasure takes their conversations whole. Counted in rows and in the raw
 * database files: the bot's echoed replies, the agent's messages, the system's and every inbox
 * event of the conversation leave neither a row nor a byte of their ids.
 */
describe.each(STORAGE_KINDS)("a visitor's erased conversation on %s", (kind) => {
  let p: LifecyclePair;
  beforeEach(async () => {
    p = await startLifecyclePair(kind, { handler: new FaqHandler(), simulator: { agentJoinDelayMs: 5 } });
  });
  afterEach(() => p.stop());

  /** A conversation of questions the bot answers, ending with a handover an agent picks up. */
  async function chat(name: string): Promise<{ conversationId: string; who: Subject }> {
    const c = p.sim.startVisitorChat(name);
    for (let i = 0; i < QUESTIONS; i++)
      p.sim.visitorSays(c.conversationId, `question ${i} about shipping from ${name}`);
    // The greeting and an answer to each (the bot paces itself to ClickDesk's per-conversation limit).
    await until('the answers', () => p.sim.world.countBy(c.conversationId, 'bot') >= QUESTIONS + 1);
    p.sim.visitorSays(c.conversationId, 'can I talk to a human please');
    await until('the agent', () => p.sim.world.countBy(c.conversationId, 'agent') >= 1);
    return { conversationId: c.conversationId, who: { kind: 'visitor', id: c.visitorId } };
  }

  const db = () => p.storage.sql!.db;
  const eventIdsOf = async (conversationRef: string): Promise<string[]> =>
    (
      await db().all<{ event_id: string }>(
        'SELECT event_id FROM inbox WHERE conversation_ref = ? UNION SELECT event_id FROM messages WHERE conversation_ref = ?',
        [conversationRef, conversationRef],
      )
    ).map((r) => r.event_id);
  const allHandled = async () =>
    Number(
      (await db().all<{ n: number }>('SELECT COUNT(*) AS n FROM inbox WHERE handled_at IS NULL'))[0]?.n,
    ) === 0;

  it('leaves 0 rows and 0 bytes of its ids, echoes and agent messages included', async () => {
    const team = p.sim.team.id;
    const [ada, bob] = await Promise.all([chat('Ada'), chat('Bob')]);
    await until('every event handled', allHandled);
    const { ctx } = p.storage.sql!;
    const adaConv = ctx.conversationRef(team, ada.conversationId);
    const adaIds = await eventIdsOf(adaConv);
    const bobIds = await eventIdsOf(ctx.conversationRef(team, bob.conversationId));
    // Each question, the visitor's and the bot's echo, the greeting, the handover, the agent's hello.
    expect(adaIds.length).toBeGreaterThanOrEqual(2 * QUESTIONS + 4);
    const echoes = await db().all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM inbox i JOIN messages m ON m.event_id = i.event_id WHERE m.conversation_ref = ? AND m.sender_kind IN ('bot', 'agent') AND i.payload IS NULL AND i.subject_ref <> ?",
      [adaConv, ctx.subjectRef(team, ada.who)],
    );
    expect(Number(echoes[0]?.n)).toBeGreaterThan(QUESTIONS); // filed under nobody, or the agent

    const before = (await db().all('SELECT job_id FROM receipts')).length;
    expect(
      await p.sim.webhooks.send('data_deletion.requested', { team_id: team, subject: ada.who }),
    ).toMatchObject({
      status: 202,
    });
    await until('the receipt', async () => (await db().all('SELECT job_id FROM receipts')).length > before);

    const left = async (table: string, column: string, ids: string[]) =>
      Number(
        (
          await db().all<{ n: number }>(
            `SELECT COUNT(*) AS n FROM ${table} WHERE ${column} IN (${ids.map(() => '?').join(', ')})`,
            ids,
          )
        )[0]?.n,
      );
    expect(await left('inbox', 'event_id', adaIds)).toBe(0);
    expect(await left('messages', 'event_id', adaIds)).toBe(0);
    expect(await left('outbox', 'event_id', adaIds)).toBe(0);
    expect(await left('inbox', 'conversation_ref', [adaConv])).toBe(0);
    expect(await left('messages', 'conversation_ref', [adaConv])).toBe(0);
    expect(await left('conversations', 'conversation_ref', [adaConv])).toBe(0);
    expect(await left('inbox', 'event_id', bobIds)).toBeGreaterThan(0);

    const files = await rawDatabaseFiles(p.fx);
    const bytes = (s: string) => Buffer.from(s, 'utf8');
    expect(occurrences(files, [...adaIds, adaConv].map(bytes))).toEqual([]);
    // The scan finds what is kept: an empty result above means gone.
    expect(occurrences(files, bobIds.map(bytes)).length).toBe(bobIds.length);
  });

  it('leaves no byte of the erased ids in the slack space of pages the tree rebalanced', async () => {
    // Rows of many conversations interleaved, random ids (as ClickDesk's are): deletes and page
    // splits move copies of rows between pages, where only a rebuild of the file reaches them.
    const team = p.sim.team.id;
    const ada: Subject = { kind: 'visitor', id: 'V-ada-slack' };
    await p.storage.conversations.put({
      teamId: team,
      conversationId: 'C-ada',
      visitorId: ada.id,
      status: 'bot',
      startedAt: 1,
    });
    const adaIds: string[] = [];
    const keptIds: string[] = [];
    const rows: StoredMessage[] = [];
    for (let i = 0; i < 12_000; i++) {
      const mine = i % 3 === 0;
      const eventId = `Ev${Math.random().toString(36).slice(2, 12)}${i}`;
      (mine ? adaIds : keptIds).push(eventId);
      const who: Subject = mine ? ada : { kind: 'visitor', id: `V-${i % 40}` };
      rows.push({
        teamId: team,
        conversationId: mine ? 'C-ada' : `C-${i % 40}`,
        eventId,
        subject: who,
        sender: i % 2 ? { kind: 'bot', id: 'B1' } : who,
        text: `message ${i}`,
        ts: String(i),
      });
    }
    for (let i = 0; i < rows.length; i += 500)
      await Promise.all(rows.slice(i, i + 500).map((m) => p.storage.messages.append(m)));

    const before = (await db().all('SELECT job_id FROM receipts')).length;
    expect(
      await p.sim.webhooks.send('data_deletion.requested', { team_id: team, subject: ada }),
    ).toMatchObject({ status: 202 });
    await until(
      'the receipt',
      async () => (await db().all('SELECT job_id FROM receipts')).length > before,
      90_000,
    );

    const files = await rawDatabaseFiles(p.fx);
    const bytes = (s: string) => Buffer.from(s, 'utf8');
    expect(occurrences(files, adaIds.map(bytes))).toEqual([]);
    expect(occurrences(files, keptIds.slice(0, 200).map(bytes)).length).toBe(200);
  });
});
