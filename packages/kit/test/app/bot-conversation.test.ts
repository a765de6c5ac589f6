import { FaqHandler, TEST_FAQ as faq } from '../helpers/faq-handler';
import { startBotSandbox } from '@clickdesk-bot/sandbox/testing';
import { defineBot } from '../../src/start/define-bot';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { waitFor } from '../helpers/wait-for';

/** A FAQ bot end to end: a visitor in the simulator, the app over RTM and the Web API. */
describe('a FAQ bot in a sandbox conversation', () => {
  let pair: SandboxPair;
  beforeEach(async () => {
    pair = await startSandboxPair({ handler: new FaqHandler(faq) });
  });
  afterEach(() => pair.stop());

  const botLines = (conversationId: string) =>
    pair.sim.world
      .history(conversationId)
      .filter((m) => m.sender.kind === 'bot')
      .map((m) => m.text);

  it('greets when a conversation starts, then answers from the FAQ', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(conversationId).length === 1);
    expect(botLines(conversationId)[0]).toBe(faq.greeting);

    pair.sim.visitorSays(conversationId, 'What are your opening hours?');
    await waitFor('answer', () => botLines(conversationId).length === 2);
    expect(botLines(conversationId)[1]).toMatch(/Monday to Friday/);
  });

  it('falls back politely when no intent matches', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    pair.sim.visitorSays(conversationId, 'Do you like jazz?');
    await waitFor('two bot lines', () => botLines(conversationId).length === 2);
    expect(botLines(conversationId)[1]).toBe(faq.fallback);
  });

  it('hands the chat to humans on request and stays quiet after the agent joins', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(conversationId).length === 1);
    pair.sim.visitorSays(conversationId, 'Can I talk to a human please?');
    await waitFor('agent greeting', () => pair.sim.world.countBy(conversationId, 'agent') === 1);
    expect(pair.sim.counters.apiCalls['conversations.transfer']).toBe(1);
    expect(botLines(conversationId)[1]).toBe(faq.handover.reply);

    const published = pair.sim.counters.eventsPublished;
    pair.sim.visitorSays(conversationId, 'What about shipping?');
    await waitFor(
      'visitor message handled',
      () => pair.sim.counters.eventsAcked === published + 1 && pair.app.dispatcher.pending === 0,
    );
    expect(botLines(conversationId)).toHaveLength(2);
  });

  it('does not answer its own echoed messages or agents', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    await waitFor(
      'greeting and its echo handled',
      () => pair.sim.counters.eventsAcked === 2 && pair.app.dispatcher.pending === 0,
    );
    pair.sim.publish({
      type: 'message',
      conversation_id: conversationId,
      sender: { kind: 'agent', id: 'U1' },
      text: 'returns?',
      ts: '1',
    });
    await waitFor(
      'agent message handled',
      () => pair.sim.counters.eventsAcked === 3 && pair.app.dispatcher.pending === 0,
    );
    expect(botLines(conversationId)).toHaveLength(1);
    expect(pair.sim.counters.apiCalls['chat.postMessage']).toBe(1);
  });

  it('replies once to a visitor message delivered twice', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    await waitFor('greeting', () => botLines(conversationId).length === 1);
    pair.sim.hub.faults.duplicateNext = 1;
    pair.sim.visitorSays(conversationId, 'How do returns work?');
    await waitFor('answer', () => botLines(conversationId).length === 2);
    await waitFor('settled', () => pair.sim.hub.unsettled === 0 && pair.app.dispatcher.pending === 0);
    expect(botLines(conversationId)).toHaveLength(2);
    expect(pair.sim.counters.apiCalls['chat.postMessage']).toBe(2);
  });
});

describe("the bot's own messages", () => {
  it('reach a handler only if it asks for them (receivesOwnMessages), and are stored either way', async () => {
    const seen: Record<string, string[]> = { default: [], asks: [] };
    for (const [name, receivesOwnMessages] of [
      ['default', false],
      ['asks', true],
    ] as const) {
      const inner = new FaqHandler(faq);
      const bot = defineBot({
        name,
        create: () => ({
          receivesOwnMessages,
          handle: async (...args: Parameters<FaqHandler['handle']>) => {
            const { event } = args[0];
            if (event.type === 'message') seen[name]!.push(event.sender.kind);
            await inner.handle(...args);
          },
        }),
      });
      const sandbox = await startBotSandbox(bot, { storage: 'memory' });
      try {
        const chat = sandbox.openChat({ name: 'Ada' });
        expect(await chat.nextReply()).toBe(faq.greeting);
        chat.say('How do returns work?');
        await chat.nextReply();
        await waitFor(
          'every event handled',
          () => sandbox.simulator.counters.eventsAcked === 4 && sandbox.running.app.dispatcher.pending === 0,
        );
      } finally {
        await sandbox.stop();
      }
    }
    expect(seen.default).toEqual(['visitor']);
    expect(seen.asks).toEqual(['bot', 'visitor', 'bot']);
  });
});
