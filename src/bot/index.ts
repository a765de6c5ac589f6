import path from 'node:path';
import { defineBot, loadFaq, z } from '@clickdesk-bot/kit';
import { faqBot } from './faq-bot';

/**
 * The sample bot. A fork replaces what is in this folder; `src/main.ts` starts whatever this
 * file exports. Its settings are environment variables like the app's (listed in .env.example).
 */
export default defineBot({
  name: 'faq-bot',
  settings: z.object({
    /** The FAQ: greeting, fallback, handover keywords and reply, intents. */
    BOT_FAQ_FILE: z.string().min(1).default(path.join(__dirname, 'faq.json')),
  }),
  fallbackText:
    'Sorry, I can\'t help with that here. Type "talk to a human" and a member of our team will take over.',
  create: ({ settings }) => faqBot(loadFaq(settings.BOT_FAQ_FILE)),
});
