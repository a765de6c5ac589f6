import type { InboundEvent } from '../core/chat-event';
import type { ChatHandler, HandlerContext } from '../core/chat-handler';
import { matchIntent, mentions, type Faq } from './faq';

/**
 * The starter's bot: greets, answers from the FAQ, hands over to humans on request, and
 * stays quiet once people have taken the conversation. Forks replace this file.
 */
export class DefaultBot implements ChatHandler {
  constructor(private readonly faq: Faq) {}

  async handle({ event }: InboundEvent, ctx: HandlerContext): Promise<void> {
    // Only the bot's own conversations: never talk over an agent or after a handover.
    if (ctx.conversation !== undefined && ctx.conversation.status !== 'bot') return;

    if (event.type === 'conversation_started') {
      await ctx.reply(this.faq.greeting);
      return;
    }
    // Only visitors are answered: agents, system notices and the bot's own echoes are not.
    if (event.type !== 'message' || event.sender.kind !== 'visitor') return;

    if (mentions(event.text, this.faq.handover.keywords)) {
      await ctx.reply(this.faq.handover.reply);
      await ctx.transferToHuman();
      ctx.logger.info('conversation handed over to agents');
      return;
    }
    const intent = matchIntent(this.faq, event.text);
    ctx.logger.debug({ intent: intent?.id ?? 'fallback' }, 'answering');
    await ctx.reply(intent ? intent.answer : this.faq.fallback);
  }
}
