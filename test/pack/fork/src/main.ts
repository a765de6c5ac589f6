import { runBot } from '@clickdesk-bot/kit';
import bot from './bot';

runBot(bot);
