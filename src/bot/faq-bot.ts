import { matchIntent, mentions, type ChatHandler, type Faq } from '@clickdesk-bot/kit';

/**
 * The sample bot's handler: greets the visitor by name, answers from the FAQ, hands over to
 * humans on request, and stays quiet once people have taken the conversation.
 */
export function faqBot(faq: Faq): ChatHandler['handle'] {
  return async ({ event }, ctx) => {
    // Only the bot's own conversations: never talk over an agent or after a handover.
    if (ctx.conversation !== undefined && ctx.conversation.status !== 'bot') return;

    if (event.type === 'conversation_started') {
      const name = event.visitor.name.trim().split(/\s+/)[0];
      await ctx.reply(`Hi${name ? ` ${name}` : ''}! ${faq.greeting}`);
      return;
    }
    // Only visitors are answered: agents and system notices are not.
    if (event.type !== 'message' || event.sender.kind !== 'visitor') return;

    if (mentions(event.text, faq.handover.keywords)) {
      await ctx.reply(faq.handover.reply);
      await ctx.transferToHuman();
      ctx.logger.info('conversation handed over to agents');
      return;
    }
    const intent = matchIntent(faq, event.text);
    ctx.logger.debug({ intent: intent?.id ?? 'fallback' }, 'answering');
    await ctx.reply(intent ? intent.answer : faq.fallback);
  };
}
