import path from 'node:path';
import type { ChatHandler } from '../../src/core/chat-handler';
import { loadFaq, matchIntent, mentions, type Faq } from '../../src/faq/faq';

/** The kit's tests' own FAQ (forks keep theirs in src/bot/). */
export const TEST_FAQ: Faq = loadFaq(path.join(__dirname, '../fixtures/faq.json'));

/** A bot for the kit's tests: greets, answers from the FAQ, hands over on request, quiet after. */
export class FaqHandler implements ChatHandler {
  constructor(private readonly faq: Faq = TEST_FAQ) {}

  async handle(
    { event }: Parameters<ChatHandler['handle']>[0],
    ctx: Parameters<ChatHandler['handle']>[1],
  ): Promise<void> {
    if (ctx.conversation !== undefined && ctx.conversation.status !== 'bot') return;
    if (event.type === 'conversation_started') return ctx.reply(this.faq.greeting);
    if (event.type !== 'message' || event.sender.kind !== 'visitor') return;
    if (mentions(event.text, this.faq.handover.keywords)) {
      await ctx.reply(this.faq.handover.reply);
      return ctx.transferToHuman();
    }
    await ctx.reply(matchIntent(this.faq, event.text)?.answer ?? this.faq.fallback);
  }
}
