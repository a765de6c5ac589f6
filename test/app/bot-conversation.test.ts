import path from 'node:path';
import { DefaultBot } from '../../src/bot/default-bot';
import { loadFaq } from '../../src/bot/faq';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { waitFor } from '../helpers/wait-for';

const faq = loadFaq(path.join(__dirname, '../../src/bot/faq.json'));

/** The default bot end to end: a visitor in the simulator, the app over RTM and the Web API. */
describe('the default bot in a sandbox conversation', () => {
  let pair: SandboxPair;
  beforeEach(async () => {
    pair = await startSandboxPair({ handler: new DefaultBot(faq) });
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
