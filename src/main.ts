import { runBot } from '@clickdesk-bot/kit';
import bot from './bot';

// The kit reads the configuration, runs the bundled simulator when no credentials are set
// (`npm start`), and stops gracefully on SIGTERM. `npm start -- --help` lists the options.
runBot(bot);
