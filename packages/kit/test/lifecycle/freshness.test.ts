import type { Subject } from '../../src/core/conversation-store';
import { FreshnessRefresher } from '../../src/lifecycle/freshness-refresher';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { silentLogger } from '../../src/logging/create-logger';
import type { SqlRunner } from '../../src/storage/sql/sql-database';
import { exportSubject } from '../../src/lifecycle/subject-export';
import { fullScans } from '../helpers/full-scans';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';

const HOUR = 3_600_000;

/** Terms 6.1, driven by a fake clock: refreshed within 24 h, or dropped. */
describe('24-hour freshness', () => {
  let clock = Date.now();
  let p: LifecyclePair;
  beforeEach(async () => {
    clock = Date.now();
    p = await startLifecyclePair('sqlite', { now: () => clock });
  });
  afterEach(() => p.stop());

  const held = async (who: Subject) => {
    const data = await exportSubject(p.storage.sql!.ctx, p.sim.team.id, who);
    return { profile: data.profile !== null, messages: (data.messages as unknown[]).length };
  };
  const chat = async (name: string) => {
    const c = p.sim.startVisitorChat(name);
    p.sim.visitorSays(c.conversationId, `hello from ${name}`);
    const who: Subject = { kind: 'visitor', id: c.visitorId };
    const deadline = Date.now() + 5_000;
    // The profile is written just before the conversation, in the same apply: wait for both.
    const stored = async () =>
      JSON.stringify(await held(who)) === JSON.stringify({ profile: true, messages: 1 }) &&
      (await p.storage.conversations.get(p.sim.team.id, c.conversationId)) !== undefined;
    while (!(await stored())) {
      if (Date.now() > deadline) throw new Error(`${name} was not stored`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { ...c, who };
  };

  it('re-confirms what ClickDesk still has, and erases at its next refresh a visitor deleted upstream', async () => {
    const alive = await chat('Alive');
    const gone = await chat('Gone');
    expect(await p.storage.conversations.get(p.sim.team.id, gone.conversationId)).toBeDefined();
    p.sim.world.deleteVisitor(gone.visitorId);

    clock += 13 * HOUR;
    const pass = await p.app.refresher!.runOnce();
    expect(pass.deletedUpstream).toBeGreaterThanOrEqual(1);
    // Its conversation's state is not served from memory either (SQLite holds it there).
    expect(await p.storage.conversations.get(p.sim.team.id, gone.conversationId)).toBeUndefined();
    expect(await p.storage.conversations.get(p.sim.team.id, alive.conversationId)).toBeDefined();
    await p.app.worker!.drain();
    expect(await held(gone.who)).toEqual({ profile: false, messages: 0 });
    expect(await held(alive.who)).toEqual({ profile: true, messages: 1 });

    // 25 h after it was stored, but 12 h after it was re-confirmed: still served.
    clock += 12 * HOUR;
    expect(await held(alive.who)).toEqual({ profile: true, messages: 1 });
  });

  it('never serves, and then drops, a record not re-confirmed within 24 h', async () => {
    const alive = await chat('Unconfirmed');
    await p.sim.close(); // ClickDesk unreachable: nothing can be re-confirmed

    clock += 13 * HOUR;
    const early = await p.app.refresher!.runOnce();
    expect(early.refreshed).toBe(0);
    expect(await held(alive.who)).toEqual({ profile: true, messages: 1 });

    clock += 11 * HOUR + 1000; // just past 24 h since ClickDesk last confirmed it
    expect(await held(alive.who)).toEqual({ profile: false, messages: 0 });
    expect(await p.storage.messages.listConversation(p.sim.team.id, alive.conversationId)).toEqual([]);
    const late = await p.app.refresher!.runOnce();
    expect(late.dropped).toBeGreaterThanOrEqual(3); // message, profile, conversation
    const [left] = await p.storage.sql!.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM messages');
    expect(Number(left?.n)).toBe(0);
  });

  it('drops at 24 h a record whose key is missing, without that record stopping the pass', async () => {
    const broken = await chat('Broken');
    const fine = await chat('Fine');
    const db = p.storage.sql!.db;
    const ref = p.storage.sql!.ctx.subjectRef(p.sim.team.id, broken.who);
    const [row] = await db.all<{ body: Buffer }>('SELECT body FROM profiles WHERE subject_ref = ?', [ref]);
    const body = Buffer.from(row!.body);
    body.fill(0xab, 1, 17); // names a data key that does not exist
    await db.run('UPDATE profiles SET body = ? WHERE subject_ref = ?', [body, ref]);

    clock += 13 * HOUR;
    const pass = await p.app.refresher!.runOnce();
    expect(pass.refreshed).toBeGreaterThanOrEqual(1); // the others were re-confirmed
    expect(await held(fine.who)).toEqual({ profile: true, messages: 1 });
    clock += 12 * HOUR;
    await p.app.refresher!.runOnce();
    const [left] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM profiles WHERE subject_ref = ?', [
      ref,
    ]);
    expect(Number(left?.n)).toBe(0);
  });

  it('forgets handled event ids after a week, so the inbox does not grow for a year', async () => {
    await chat('Someone');
    const db = p.storage.sql!.db;
    const count = async () =>
      Number(
        (await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM inbox WHERE handled_at IS NOT NULL'))[0]?.n,
      );
    // Both events (conversation_started, message) marked handled before the clock moves on.
    const deadline = Date.now() + 5_000;
    while ((await count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await count()).toBe(2);
    clock += 6 * 24 * HOUR;
    await p.app.refresher!.runOnce();
    expect(await count()).toBeGreaterThan(0);
    clock += 2 * 24 * HOUR;
    await p.app.refresher!.runOnce();
    expect(await count()).toBe(0);
  });
});

describe.each(STORAGE_KINDS)('expiry and drops (%s)', (kind) => {
  let p: LifecyclePair;
  beforeEach(async () => {
    p = await startLifecyclePair(kind);
  });
  afterEach(() => p.stop());

  it('deletes expired and unconfirmed messages in bounded steps, each found through an index', async () => {
    const db = p.storage.sql!.db;
    const now = Date.now();
    const insert = (id: string, createdAt: number, confirmedAt: number) =>
      db.run(
        'INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [id, 'T1', 'c1', 's1', 'visitor', Buffer.alloc(1), createdAt, confirmedAt],
      );
    for (let i = 0; i < 50; i++) await insert(`expired${i}`, now - 31 * 24 * HOUR, now - HOUR);
    for (let i = 0; i < 30; i++) await insert(`unconfirmed${i}`, now - 25 * HOUR, now - 25 * HOUR);
    // Enough fresh rows that the planner prefers an index wherever one serves.
    await db.transaction(async (tx) => {
      for (let i = 0; i < 20_000; i++)
        await tx.run(
          'INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [`kept${i}`, 'T1', `c${i % 100}`, 's1', 'visitor', Buffer.alloc(1), now - HOUR, now - HOUR],
        );
    });
    await db.run('ANALYZE');

    // Every statement and how many rows it changed, per transaction.
    const steps: Array<{ sql: string; params: unknown[]; changed: number }> = [];
    const transaction = db.transaction.bind(db);
    jest.spyOn(db, 'transaction').mockImplementation((fn) =>
      transaction((tx) => {
        const recording: SqlRunner = {
          all: (sql, params) => tx.all(sql, params),
          run: async (sql, params = []) => {
            const changed = await tx.run(sql, params);
            steps.push({ sql, params: [...params], changed });
            return changed;
          },
        };
        return fn(recording);
      }),
    );
    const refresher = new FreshnessRefresher({
      ctx: p.storage.sql!.ctx,
      api: p.app.api,
      jobs: new LifecycleJobs(db),
      logger: silentLogger(),
      retentionMs: 30 * 24 * HOUR,
      deleteStep: 7,
    });
    const pass = await refresher.runOnce();

    expect({ dropped: pass.dropped, expired: pass.expired }).toEqual({ dropped: 30, expired: 50 });
    const left = await db.all<{ event_id: string }>('SELECT event_id FROM messages');
    expect(left.filter((r) => !r.event_id.startsWith('kept'))).toEqual([]);
    expect(left).toHaveLength(20_000);
    const deletes = steps.filter((s) => s.sql.startsWith('DELETE FROM messages'));
    expect(deletes.length).toBeGreaterThanOrEqual(Math.ceil(30 / 7) + Math.ceil(50 / 7));
    for (const step of deletes) {
      expect(step.changed).toBeLessThanOrEqual(7);
      expect(await fullScans(db, step.sql, step.params)).toEqual([]);
    }
  });

  it('deletes events handled over a week ago in bounded steps through an index, keeping the others', async () => {
    const db = p.storage.sql!.db;
    const now = Date.now();
    const insert = (tx: SqlRunner, id: string, receivedAt: number, handledAt: number | null) =>
      tx.run(
        'INSERT INTO inbox (event_id, team_id, subject_ref, received_at, handled_at) VALUES (?, ?, ?, ?, ?)',
        [id, 'T1', 's1', receivedAt, handledAt],
      );
    await db.transaction(async (tx) => {
      for (let i = 0; i < 40; i++) await insert(tx, `old${i}`, now - 9 * 24 * HOUR, now - 8 * 24 * HOUR);
      // Never handled (a dead letter or one still waiting): not this cleanup's to delete.
      for (let i = 0; i < 5; i++) await insert(tx, `unhandled${i}`, now - 9 * 24 * HOUR, null);
      for (let i = 0; i < 20_000; i++) await insert(tx, `recent${i}`, now - HOUR, now - HOUR);
    });
    await db.run('ANALYZE');

    const steps: Array<{ sql: string; params: unknown[]; changed: number }> = [];
    const transaction = db.transaction.bind(db);
    jest.spyOn(db, 'transaction').mockImplementation((fn, opts) =>
      transaction(
        (tx) =>
          fn({
            all: (sql, params) => tx.all(sql, params),
            run: async (sql, params = []) => {
              const changed = await tx.run(sql, params);
              steps.push({ sql, params: [...params], changed });
              return changed;
            },
          }),
        opts,
      ),
    );
    const refresher = new FreshnessRefresher({
      ctx: p.storage.sql!.ctx,
      api: p.app.api,
      jobs: new LifecycleJobs(db),
      logger: silentLogger(),
      retentionMs: 30 * 24 * HOUR,
      deleteStep: 7,
    });
    await refresher.runOnce();

    const left = await db.all<{ event_id: string }>('SELECT event_id FROM inbox');
    expect(left.filter((r) => r.event_id.startsWith('old'))).toEqual([]);
    expect(left.filter((r) => r.event_id.startsWith('unhandled'))).toHaveLength(5);
    expect(left.filter((r) => r.event_id.startsWith('recent'))).toHaveLength(20_000);
    const deletes = steps.filter((s) => s.sql.startsWith('DELETE FROM inbox'));
    expect(deletes.length).toBeGreaterThanOrEqual(Math.ceil(40 / 7));
    for (const step of deletes) {
      expect(step.changed).toBeLessThanOrEqual(7);
      expect(await fullScans(db, step.sql, step.params)).toEqual([]);
    }
  });
});
