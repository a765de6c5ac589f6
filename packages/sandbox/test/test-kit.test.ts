import { defineBot, z } from '@clickdesk-bot/kit';
import { startBotSandbox } from '../src/testing';

/** The test kit a fork tests its bot with: a conversation against the real simulator and engine. */
describe('startBotSandbox', () => {
  it("passes the bot its settings and the visitor's name, and counts replies at the simulator", async () => {
    const bot = defineBot({
      name: 'greeter',
      settings: z.object({ SHOP_NAME: z.string().min(1) }),
      create:
        ({ settings }) =>
        async ({ event }, ctx) => {
          if (event.type === 'conversation_started') await ctx.reply(`Welcome to ${settings.SHOP_NAME}!`);
          if (event.type === 'message' && event.sender.kind === 'visitor') {
            const visitor = await ctx.visitor();
            await ctx.reply(`Noted, ${visitor?.name ?? 'visitor'}.`);
          }
        },
    });
    const sandbox = await startBotSandbox(bot, { env: { SHOP_NAME: 'Tea & Co' } });
    try {
      const chat = sandbox.openChat({ name: 'Ada' });
      expect(await chat.nextReply()).toBe('Welcome to Tea & Co!');
      chat.say('hello');
      expect(await chat.nextReply()).toBe('Noted, Ada.');
      expect(await chat.repliesWithin(200)).toEqual([]);
      expect(sandbox.simulator.world.countBy(chat.conversationId, 'bot')).toBe(2);
    } finally {
      await sandbox.stop();
    }
  });

  it("explains a reply that never came with the transcript and the app's own warnings", async () => {
    const bot = defineBot({
      name: 'leaky',
      create:
        () =>
        async ({ event }, ctx) => {
          if (event.type === 'message') await ctx.fetch('http://127.0.0.1:9/not-declared');
        },
    });
    const sandbox = await startBotSandbox(bot, { storage: 'memory' });
    try {
      const chat = sandbox.openChat();
      chat.say('where is my order?');
      await expect(chat.nextReply(1_500)).rejects.toThrow(
        /waited 1500 ms for reply #1 from the bot; the chat so far:\n {2}visitor: where is my order\?\nthe app's latest warnings and errors:\n.*EGRESS_BLOCKED: outbound request to http:\/\/127\.0\.0\.1:9 refused/,
      );
    } finally {
      await sandbox.stop();
    }
  });

  it("refuses invalid settings, the app's and the bot's in one message naming each variable", async () => {
    const bot = defineBot({
      name: 'strict',
      settings: z.object({ ORDERS_URL: z.url() }),
      create: () => () => Promise.resolve(),
    });
    await expect(startBotSandbox(bot, { env: { ORDERS_URL: 'nope', LOG_LEVEL: 'loud' } })).rejects.toThrow(
      /^Invalid configuration:\n {2}LOG_LEVEL: .*\(got "loud"\)\n {2}ORDERS_URL: .*\(got "nope"\)\nFix these variables/,
    );
  });

  it('refuses a bot whose egress is not an http(s) URL, saying what it must return', async () => {
    const bot = defineBot({
      name: 'mailer',
      settings: z.object({ TARGET: z.string() }),
      egress: (settings) => [settings.TARGET],
      create: () => () => Promise.resolve(),
    });
    await expect(startBotSandbox(bot, { env: { TARGET: 'mailto:all@example.org' } })).rejects.toThrow(
      /The bot's egress names "mailto:all@example.org", which is not an http\(s\) URL/,
    );
  });
});
