import { ClickDeskDelivery } from '../../src/clickdesk/clickdesk-delivery';
import { ClickDeskWebApi } from '../../src/clickdesk/web-api-client';
import { loadConfig } from '../../src/config/load-config';
import { OutboxSender } from '../../src/delivery/outbox-sender';
import { silentLogger } from '../../src/logging/create-logger';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor } from '../../src/rate-limit/rate-governor';
import { Simulator } from '@clickdesk-bot/sandbox';
import { MemoryOutbox } from '../../src/storage/memory/memory-outbox';
import { FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/** The sender on its own, against the simulator: what it does with refusals and sends of unknown outcome. */
describe('the outbox sender', () => {
  let sim: Simulator;
  let governor: RateGovernor;
  let api: ClickDeskWebApi;
  beforeEach(async () => {
    sim = new Simulator({ ...FAST_SIMULATOR, agentJoinDelayMs: -1 });
    await sim.listen(0);
  });
  afterEach(async () => {
    governor.close();
    await sim.close();
  });

  const setUp = (maxQueuePerMethod: number) => {
    const config = loadConfig({});
    governor = new RateGovernor({
      limits: config.rate.limits,
      store: new MemoryRateStore(),
      maxQueuePerMethod,
      deadlineMs: { reply: 30_000, background: 30_000 },
      logger: silentLogger(),
    });
    api = new ClickDeskWebApi({
      baseUrl: sim.apiUrl,
      appToken: sim.options.appToken,
      botTokenFor: () => sim.team.botToken,
      review: (_t, _m, args) => args,
      governor,
      fetchImpl: fetch,
    });
    return new ClickDeskDelivery(api);
  };

  const effect = (conversationId: string, n: number) => ({
    effectId: `Ev${conversationId}-${n}`,
    eventId: `Ev${conversationId}`,
    teamId: sim.team.id,
    conversationId,
    subject: undefined,
    effect: { kind: 'post' as const, text: `reply ${n}` },
  });

  it('retries replies the rate queue refused (RATE_QUEUE_FULL) until each is sent once, in order', async () => {
    const delivery = setUp(2);
    const outbox = new MemoryOutbox();
    const conversations = Array.from({ length: 30 }, (_, i) => sim.startVisitorChat(`V${i}`).conversationId);
    for (const c of conversations) outbox.add([effect(c, 1), effect(c, 2)]);
    let retries = 0;
    const sender = new OutboxSender({
      outbox,
      delivery,
      logger: silentLogger(),
      maxInFlight: 30, // far more than the governor lets wait
      retry: { baseMs: 20, maxMs: 200 },
      onRetry: (reason) => {
        if (reason === 'RATE_QUEUE_FULL') retries += 1;
      },
    });
    sender.start();
    await waitFor('all sent', () => outbox.pending === 0, 20_000);
    await sender.stop(1_000);
    expect(retries).toBeGreaterThan(0);
    for (const c of conversations) {
      const bot = sim.world.history(c).filter((m) => m.sender.kind === 'bot');
      expect(bot.map((m) => [m.text, m.clientMsgId])).toEqual([
        ['reply 1', `Ev${c}-1`],
        ['reply 2', `Ev${c}-2`],
      ]);
    }
  });

  it('with no echo, finds in the history a reply whose earlier send reached ClickDesk, and posts one that did not', async () => {
    const delivery = setUp(100);
    const outbox = new MemoryOutbox();
    const { conversationId: c } = sim.startVisitorChat('Ada');
    outbox.add([effect(c, 1), effect(c, 2)]);
    // A crash between send and answer: the first reply is at ClickDesk, the second never left.
    const rows = await outbox.claim(10);
    expect(rows).toHaveLength(1);
    await outbox.markAttempt(`Ev${c}-1`);
    sim.postBotMessage(sim.team, sim.world.conversations.get(c)!, 'reply 1', `Ev${c}-1`);
    await outbox.retryLater(`Ev${c}-1`, 0, 'crash', 'unknown');

    let reconciled = 0;
    const sender = new OutboxSender({
      outbox,
      delivery,
      logger: silentLogger(),
      pollMs: 20,
      echoWaitMs: 0, // no echo comes here: straight to the history
      onReconciled: () => (reconciled += 1),
    });
    sender.start();
    await waitFor('both settled', () => outbox.pending === 0);
    await sender.stop(1_000);
    await sleep(50);
    const bot = sim.world.history(c).filter((m) => m.sender.kind === 'bot');
    expect(bot.map((m) => m.text)).toEqual(['reply 1', 'reply 2']);
    expect(reconciled).toBe(1);
    expect(sim.counters.apiCalls['conversations.history']).toBe(1);
  });
  describe('waiting for the echo of a send of unknown outcome', () => {
    const unknownSend = async () => {
      const delivery = setUp(100);
      const outbox = new MemoryOutbox();
      const { conversationId: c } = sim.startVisitorChat('Ada');
      outbox.add([effect(c, 1)]);
      await outbox.claim(10);
      await outbox.markAttempt(`Ev${c}-1`);
      // The send reached ClickDesk; its echo never reaches this sender (no link delivers).
      sim.postBotMessage(sim.team, sim.world.conversations.get(c)!, 'reply 1', `Ev${c}-1`);
      await outbox.retryLater(`Ev${c}-1`, 0, 'crash', 'unknown');
      return { delivery, outbox, c };
    };

    it('counts only the time a link could deliver it, then asks the history once and posts nothing again', async () => {
      const { delivery, outbox, c } = await unknownSend();
      let heard = 0;
      const sender = new OutboxSender({
        outbox,
        delivery,
        logger: silentLogger(),
        pollMs: 20,
        echoWaitMs: 200,
        listeningClock: () => heard,
      });
      sender.start();
      // Three echo waits of wall time with no link: the echo could not have come, so no lookup yet.
      await sleep(600);
      expect(sim.counters.apiCalls['conversations.history'] ?? 0).toBe(0);
      expect(outbox.pending).toBe(1);
      heard += 250; // a link delivered for longer than the wait and no echo came
      await waitFor('settled from the history', () => outbox.pending === 0);
      await sender.stop(1_000);
      expect(sim.counters.apiCalls['conversations.history']).toBe(1);
      expect(sim.world.history(c).filter((m) => m.sender.kind === 'bot')).toHaveLength(1);
    });

    it('asks the history after six waits of wall time when no link delivers at all', async () => {
      const { delivery, outbox, c } = await unknownSend();
      const sender = new OutboxSender({
        outbox,
        delivery,
        logger: silentLogger(),
        pollMs: 20,
        echoWaitMs: 100,
        listeningClock: () => 0,
      });
      const started = Date.now();
      sender.start();
      await sleep(300);
      expect(sim.counters.apiCalls['conversations.history'] ?? 0).toBe(0);
      await waitFor('settled from the history', () => outbox.pending === 0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      await sender.stop(1_000);
      expect(sim.counters.apiCalls['conversations.history']).toBe(1);
      expect(sim.world.history(c).filter((m) => m.sender.kind === 'bot')).toHaveLength(1);
    });
  });
});
