import { Simulator } from '@clickdesk-bot/sandbox';
import { startAppChild, type AppChild } from '../helpers/app-child';
import { FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * Exactly-once effects under SIGKILL, counted where a visitor would see them: at the simulator.
 * 20 conversations; each gets a greeting and 5 visitor messages, each with exactly one expected
 * answer. The app (a real child process) is killed at every step of an event's path by its
 * fault points (src/core/fault-point.ts), and once by the simulator itself right after it
 * stored a bot reply and before the HTTP answer left; each time it is restarted.
 */
const CONVERSATIONS = 20;
const ROUNDS = 5;

interface Tally {
  missing: string[];
  twice: string[];
  unexpected: string[];
  withoutClientMsgId: number;
  repeatedClientMsgIds: string[];
}

function tally(sim: Simulator, conversations: string[]): Tally {
  const expected = new Set<string>();
  for (const c of conversations) {
    expected.add(`greet:${c}`);
    for (let r = 1; r <= ROUNDS; r++) expected.add(`a:${c}-${r}`);
  }
  const byText = new Map<string, number>();
  const byId = new Map<string, number>();
  let withoutClientMsgId = 0;
  for (const c of conversations) {
    for (const m of sim.world.history(c)) {
      if (m.sender.kind !== 'bot') continue;
      byText.set(m.text, (byText.get(m.text) ?? 0) + 1);
      if (m.clientMsgId === undefined) withoutClientMsgId += 1;
      else byId.set(m.clientMsgId, (byId.get(m.clientMsgId) ?? 0) + 1);
    }
  }
  return {
    missing: [...expected].filter((t) => !byText.has(t)),
    twice: [...byText].filter(([, n]) => n > 1).map(([t]) => t),
    unexpected: [...byText.keys()].filter((t) => !expected.has(t)),
    withoutClientMsgId,
    repeatedClientMsgIds: [...byId].filter(([, n]) => n > 1).map(([id]) => id),
  };
}

async function killedBy(child: AppChild, what: string): Promise<void> {
  const signal = await Promise.race([child.exited, sleep(25_000).then(() => 'timeout' as const)]);
  if (signal !== 'SIGKILL') {
    child.kill();
    throw new Error(`expected the app to be SIGKILLed at ${what}, got ${String(signal)}`);
  }
}

/** Starts the round's traffic: new conversations (round 0) or one visitor message in each. */
function traffic(sim: Simulator, conversations: string[], round: number): void {
  if (round === 0) {
    for (let i = 0; i < CONVERSATIONS; i++) conversations.push(sim.startVisitorChat(`V${i}`).conversationId);
  } else {
    for (const c of conversations) sim.visitorSays(c, `q:${c}-${round}`);
  }
}

/** Kills whichever app posts the n-th bot message, after the simulator stored it, before it answers. */
function killAtStoredReply(
  sim: Simulator,
  conversations: string[],
  n: number,
  victim: () => AppChild,
): () => void {
  let seen = 0;
  const unsubscribe = conversations.map((c) =>
    sim.world.subscribe(c, (m) => {
      if (m.sender.kind === 'bot' && ++seen === n) victim().kill();
    }),
  );
  return () => unsubscribe.forEach((u) => u());
}

describe.each(STORAGE_KINDS)('SIGKILL at every step of an event’s path (%s)', (kind) => {
  let fx: StorageFixture;
  let sim: Simulator;
  const children: AppChild[] = [];

  beforeEach(async () => {
    fx = await storageFixture(kind);
    // ClickDesk keeps redelivering for the whole test: the boundary (it gives up) is not under test
    // here. Six kills in half a minute settle more sends of unknown outcome than the contract's 50
    // history look-ups a minute allow a freshly started process (its budget starts empty of the
    // last one's calls); a 429 would only delay them, beyond this test's deadline.
    sim = new Simulator({
      ...FAST_SIMULATOR,
      ackTimeoutMs: 800,
      maxRetries: 1_000,
      agentJoinDelayMs: -1,
      limits: { 'conversations.history': 1_000 },
    });
    await sim.listen(0);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill();
    await sim.close();
    await fx.cleanup();
  });

  const start = async (instanceId: string, faultPoint?: string): Promise<AppChild> => {
    const child = startAppChild(fx, sim.apiUrl, { instanceId, faultPoint });
    children.push(child);
    // A fault point may fire while the app replays what the last one left, before it is connected.
    await Promise.race([child.ready, child.exited]);
    return child;
  };

  const answered = async (conversations: string[]): Promise<void> => {
    try {
      await waitFor(
        'every message answered',
        () => tally(sim, conversations).missing.length === 0,
        30_000,
        50,
      );
    } catch (err) {
      const db = await fx.open();
      try {
        const state = {
          tally: tally(sim, conversations),
          inbox: await db.sql!.db.all(
            'SELECT event_id, lease_owner, lease_until, failures, dead_reason FROM inbox WHERE handled_at IS NULL',
          ),
          outbox: await db.sql!.db.all(
            'SELECT seq, effect_id, lane, state, tries, attempted_at, lease_owner, lease_until, next_at, last_error, dead_reason FROM outbox',
          ),
          now: Date.now(),
          calls: sim.counters.apiCalls,
          ratelimited: sim.counters.ratelimitedByMethod,
        };
        throw new Error(`${(err as Error).message}: ${JSON.stringify(state, null, 1)}`);
      } finally {
        await db.close();
      }
    }
  };

  const faults = [
    'after-record:3',
    'during-handler:5',
    'after-outbox-commit:7',
    'before-send:4',
    'after-answer:6',
  ];

  it('answers every visitor message exactly once, one instance restarted after each kill', async () => {
    const conversations: string[] = [];
    for (const [round, fault] of faults.entries()) {
      const child = await start('crash-a', fault);
      traffic(sim, conversations, round);
      await killedBy(child, fault);
    }
    // Between send and answer: the simulator stores the reply, then the app dies before reading the answer.
    let current = await start('crash-a');
    const stopKilling = killAtStoredReply(sim, conversations, 5, () => current);
    traffic(sim, conversations, ROUNDS);
    await killedBy(current, 'the simulator storing a reply');
    stopKilling();

    current = await start('crash-a');
    await answered(conversations);
    await sleep(1_000); // a late duplicate would land meanwhile
    current.process.kill('SIGTERM');
    await current.exited;

    expect(tally(sim, conversations)).toEqual({
      missing: [],
      twice: [],
      unexpected: [],
      withoutClientMsgId: 0,
      repeatedClientMsgIds: [],
    });
    expect(sim.counters.eventsExpired).toBe(0);
    expect(sim.counters.apiCalls['conversations.history'] ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('settles by its echo a reply whose answer a kill lost, asking the history nothing', async () => {
    // One conversation: its replies leave one at a time, so the one the kill cuts off is the only
    // send of unknown outcome, and it reached ClickDesk (the simulator stored it, then killed).
    const { conversationId: c } = sim.startVisitorChat('Echo');
    let current = await start('crash-a');
    for (let kill = 1; kill <= 3; kill++) {
      const victim = current;
      const stopKilling = sim.world.subscribe(c, (m) => {
        if (m.sender.kind === 'bot' && m.text === `a:${c}-${kill}`) victim.kill();
      });
      sim.visitorSays(c, `q:${c}-${kill}`);
      await killedBy(victim, `the simulator storing answer ${kill}`);
      stopKilling();
      current = await start('crash-a');
      await waitFor(
        `answer ${kill}`,
        () => sim.world.history(c).some((m) => m.text === `a:${c}-${kill}`),
        30_000,
        50,
      );
      sim.visitorSays(c, `q:${c}-${kill}b`);
      await waitFor(
        `answer ${kill}b`,
        () => sim.world.history(c).some((m) => m.text === `a:${c}-${kill}b`),
        30_000,
        50,
      );
    }
    await sleep(1_000);
    current.process.kill('SIGTERM');
    await current.exited;

    const bot = sim.world.history(c).filter((m) => m.sender.kind === 'bot');
    expect(bot.map((m) => m.text)).toEqual([
      `greet:${c}`,
      ...[1, 2, 3].flatMap((k) => [`a:${c}-${k}`, `a:${c}-${k}b`]),
    ]);
    expect(sim.counters.apiCalls['conversations.history'] ?? 0).toBe(0);
  }, 120_000);

  it('replays what a crash left, dead-lettering alone an event that can no longer be decrypted', async () => {
    const first = await start('crash-a', 'during-handler:8');
    const conversations: string[] = [];
    traffic(sim, conversations, 0);
    await killedBy(first, 'during-handler:8');
    const storage = await fx.open();
    let broken: string;
    try {
      const db = storage.sql!.db;
      const left = await db.all<{ event_id: string; payload: Buffer }>(
        'SELECT event_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY received_at',
      );
      expect(left.length).toBeGreaterThan(2);
      broken = left[1]!.event_id;
      const tampered = Buffer.from(left[1]!.payload);
      tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
      await db.run('UPDATE inbox SET payload = ? WHERE event_id = ?', [tampered, broken]);
    } finally {
      await storage.close();
    }
    const again = await start('crash-a');
    const greeted = () =>
      conversations.filter((c) => sim.world.history(c).some((m) => m.text === `greet:${c}`)).length;
    await waitFor('every other conversation greeted', () => greeted() === CONVERSATIONS - 1, 30_000, 50);
    again.process.kill('SIGTERM');
    await again.exited;
    const after = await fx.open();
    try {
      expect(await after.inbox.deadLetters.list(10)).toEqual([
        expect.objectContaining({ kind: 'event', id: broken, reason: 'undecryptable:DECRYPT_FAILED' }),
      ]);
    } finally {
      await after.close();
    }
    expect(tally(sim, conversations).twice).toEqual([]);
  }, 60_000);

  // Two instances share one database on PostgreSQL only (SQLite is one process's file).
  if (kind === 'postgres')
    it('answers every visitor message exactly once with two instances, one killed for good', async () => {
      const conversations: string[] = [];
      const survivor = await start('crash-b');
      for (const [round, fault] of faults.slice(0, 3).entries()) {
        const child = await start('crash-a', fault);
        traffic(sim, conversations, round);
        await killedBy(child, fault);
      }
      // The last kill is for good: the survivor takes the dead instance's leases over (its
      // unhandled events', and its sender's, which may hold a send of unknown outcome). A point
      // on the dispatcher's path, not the sender's: the simulator delivers every other event to
      // the doomed link, so it surely passes it twice, whereas either instance's sender may
      // claim the doomed one's replies (a sender's fault point timed out there once in 11 runs).
      const doomed = await start('crash-a', 'after-outbox-commit:2');
      traffic(sim, conversations, 3);
      traffic(sim, conversations, 4);
      await killedBy(doomed, 'after-outbox-commit:2');
      traffic(sim, conversations, 5);
      await answered(conversations);
      await sleep(1_000);
      survivor.process.kill('SIGTERM');
      await survivor.exited;

      expect(tally(sim, conversations)).toEqual({
        missing: [],
        twice: [],
        unexpected: [],
        withoutClientMsgId: 0,
        repeatedClientMsgIds: [],
      });
      expect(sim.counters.eventsExpired).toBe(0);
    }, 120_000);
});
