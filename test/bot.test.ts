import { startBotSandbox, type BotSandbox } from '@clickdesk-bot/sandbox/testing';
import bot from '../src/bot';

// The sample bot against the real ClickDesk simulator and engine, in this process, on SQLite in a
// temp folder. `npm run test:bot` runs this file alone.
describe('the FAQ bot', () => {
  let sandbox: BotSandbox;
  beforeEach(async () => {
    sandbox = await startBotSandbox(bot);
  });
  afterEach(() => sandbox.stop());

  it('greets the visitor by name, then answers from the FAQ', async () => {
    const chat = sandbox.openChat({ name: 'Ada Lovelace' });
    expect(await chat.nextReply()).toMatch(/^Hi Ada! /);

    chat.say('What are your opening hours?');
    expect(await chat.nextReply()).toMatch(/Monday to Friday/);
  });

  it('says what it can help with when no answer matches', async () => {
    const chat = sandbox.openChat();
    await chat.nextReply();
    chat.say('Do you like jazz?');
    expect(await chat.nextReply()).toMatch(/don't know that one yet/);
  });

  it('hands the chat to a human on request, then stays quiet', async () => {
    const chat = sandbox.openChat();
    await chat.nextReply();
    chat.say('Can I talk to a human please?');
    expect(await chat.nextReply()).toMatch(/passing you to one of our team/);
    await chat.handedOver();

    chat.say('What about shipping?');
    expect(await chat.repliesWithin(300)).toEqual([]);
  });
});
