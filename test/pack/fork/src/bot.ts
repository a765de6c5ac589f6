import { defineBot, z } from '@clickdesk-bot/kit';

/**
 * A fork's bot, written against the kit's published surface only: a setting of its own, a
 * greeting by name, an answer to each message, a handover to people on request.
 */
export default defineBot({
  name: 'tarball-bot',
  settings: z.object({
    /** The shop the bot speaks for. */
    SHOP_NAME: z.string().min(1).default('our shop'),
  }),
  create:
    ({ settings }) =>
    async ({ event }, ctx) => {
      // Never talk over an agent, nor after a handover.
      if (ctx.conversation !== undefined && ctx.conversation.status !== 'bot') return;
      if (event.type === 'conversation_started') {
        const visitor = await ctx.visitor();
        await ctx.reply(`Hello ${visitor?.name ?? event.visitor.name}, welcome to ${settings.SHOP_NAME}!`);
        return;
      }
      if (event.type !== 'message' || event.sender.kind !== 'visitor') return;
      if (/\bagent\b/i.test(event.text)) {
        await ctx.reply('Passing you to one of our team.');
        await ctx.transferToHuman();
        return;
      }
      await ctx.reply(`You said: ${event.text}`);
    },
});
