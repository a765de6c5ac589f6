import { loadConfig } from '../../src/config/load-config';
import type { ChatHandler } from '../../src/core/chat-handler';
import type { EventInbox } from '../../src/core/event-inbox';
import { Simulator } from '@clickdesk-bot/sandbox';
import type { Storage } from '../../src/storage/open-storage';
import { MemoryEventInbox } from '../../src/storage/memory/memory-event-inbox';
import { connectApp, FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * Failures are retried, never dropped: a handler that fails a few times still answers once; one
 * that always fails, and a reply ClickDesk refuses for good, end as dead letters with their
 * reason, counted by a metric, and can be retried or dropped. A full rate queue delays replies
 * but loses none.
 */
const KINDS = ['memory', ...STORAGE_KINDS] as const;

const greeter = (failures: Map<string, number>, failTimes: number): ChatHandler => ({
  async handle({ event }, ctx) {
    if (event.type !== 'conversation_started') return;
    const n = (failures.get(event.conversationId) ?? 0) + 1;
    failures.set(event.conversationId, n);
    if (n <= failTimes) throw new Error(`failure ${n}`);
    await ctx.reply(`hello ${event.conversationId}`);
  },
});

describe.each(KINDS)('retries and dead letters (%s)', (kind) => {
  let fx: StorageFixture | undefined;
  let storage: Storage | undefined;
  let sim: Simulator;
  let inbox: EventInbox;
  const stops: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    sim = new Simulator({ ...FAST_SIMULATOR, agentJoinDelayMs: -1 });
    await sim.listen(0);
    if (kind === 'memory') {
      inbox = new MemoryEventInbox();
    } else {
      fx = await storageFixture(kind);
      storage = await fx.open();
      inbox = storage.inbox;
    }
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await sim.close();
    await storage?.close();
    await fx?.cleanup();
    storage = undefined;
    fx = undefined;
  });

  const start = async (handler: ChatHandler, config = {}) => {
    const { app } = await connectApp(sim, {
      handler,
      config,
      app: {
        inbox,
        ...(storage && {
          conversations: storage.conversations,
          messages: storage.messages,
          profiles: storage.profiles,
        }),
        handlerRetry: { maxAttempts: 4, baseMs: 10, maxMs: 50 },
        deliveryRetry: { baseMs: 20, maxMs: 200 },
      },
    });
    stops.push(() => app.stop());
    return app;
  };
  const botLines = (c: string) =>
    sim.world
      .history(c)
      .filter((m) => m.sender.kind === 'bot')
      .map((m) => m.text);

  it('answers once when the handler fails three times and then succeeds', async () => {
    const failures = new Map<string, number>();
    await start(greeter(failures, 3));
    const { conversationId } = sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(conversationId).length === 1);
    await sleep(200);
    expect(botLines(conversationId)).toEqual([`hello ${conversationId}`]);
    expect(failures.get(conversationId)).toBe(4);
    expect(await inbox.deadLetters.count()).toEqual({ event: 0, effect: 0 });
  });

  it('dead-letters an event whose handler always fails, counts it, and can retry or drop it', async () => {
    const failures = new Map<string, number>();
    let failTimes = Number.POSITIVE_INFINITY;
    const app = await start({
      handle: (e, ctx) => greeter(failures, failTimes).handle(e, ctx),
    });
    const { conversationId } = sim.startVisitorChat('Ada');
    await waitFor('dead letter', () => failures.get(conversationId) === 4 && app.dispatcher.pending === 0);
    const [dead] = await inbox.deadLetters.list(10);
    expect(dead).toMatchObject({ kind: 'event', reason: 'handler_failed:Error' });
    const metrics = await app.metrics.registry.metrics();
    expect(metrics).toMatch(/clickdesk_dead_letters\{kind="event"\} 1/);
    expect(metrics).toMatch(/clickdesk_dead_letters_created_total\{kind="event"\} 1/);
    expect(botLines(conversationId)).toEqual([]);

    failTimes = 0;
    if (kind === 'memory') {
      // Nothing replays a memory inbox: its dead events can only be dropped.
      expect(await inbox.deadLetters.retry('event', dead!.id)).toBe(false);
      expect(await inbox.deadLetters.drop('event', dead!.id)).toBe(true);
    } else {
      expect(await inbox.deadLetters.retry('event', dead!.id)).toBe(true);
      await app.dispatcher.recover();
      await waitFor('greeting after retry', () => botLines(conversationId).length === 1);
    }
    expect(await inbox.deadLetters.count()).toEqual({ event: 0, effect: 0 });
    expect(await inbox.deadLetters.drop('event', dead!.id)).toBe(false);
  });

  it('dead-letters a reply ClickDesk refuses for good (conversation deleted upstream)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = await start({
      async handle({ event }, ctx) {
        if (event.type !== 'conversation_started') return;
        await gate;
        await ctx.reply('hello');
      },
    });
    const { conversationId, visitorId } = sim.startVisitorChat('Ada');
    await waitFor('handler running', () => app.dispatcher.pending === 1);
    sim.world.deleteVisitor(visitorId);
    release();
    for (let i = 0; (await inbox.deadLetters.count()).effect === 0; i++) {
      if (i > 500) throw new Error('the refused reply was not dead-lettered');
      await sleep(10);
    }
    const [dead] = await inbox.deadLetters.list(10);
    expect(dead).toMatchObject({ kind: 'effect', reason: 'conversation_not_found' });
    expect(await app.metrics.registry.metrics()).toMatch(/clickdesk_dead_letters\{kind="effect"\} 1/);
    expect(sim.world.history(conversationId)).toEqual([]);
    expect(await inbox.deadLetters.drop('effect', dead!.id)).toBe(true);
    expect(await inbox.deadLetters.count()).toEqual({ event: 0, effect: 0 });
  });

  it('sends every greeting once when 40 conversations start together against a rate queue of 2', async () => {
    await start(greeter(new Map(), 0), {
      rate: { ...loadConfig({}).rate, maxQueuePerMethod: 2 },
    });
    const ids = Array.from({ length: 40 }, (_, i) => sim.startVisitorChat(`V${i}`).conversationId);
    await waitFor('every greeting', () => ids.every((c) => botLines(c).length >= 1), 20_000, 20);
    await sleep(200);
    expect(ids.filter((c) => botLines(c).length !== 1)).toEqual([]);
    expect(sim.counters.ratelimited).toBe(0);
  });
});
