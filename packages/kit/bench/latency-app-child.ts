/**
 * The app as a child process for the latency benchmark: `npm start`'s wiring on the given
 * storage, answering each visitor message `q:<x>` with `a:<x>`. ClickDesk's team-wide
 * chat.postMessage limit is raised (the simulator raises it too): the benchmark measures the
 * app's own path, not a budget. Environment: SIM_API_URL, STORAGE (memory|sqlite|postgres),
 * DATA_DIR, DATABASE_URL, PG_SCHEMA, MASTER_KEY, INSTANCE_ID. Prints "ready" once connected.
 */
import { createBotApp } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import type { ChatHandler } from '../src/core/chat-handler';
import { silentLogger } from '../src/logging/create-logger';
import { openStorage, type StorageKind } from '../src/storage/open-storage';

/** chat.postMessage calls a minute, app and simulator alike: far above any rate the bench offers. */
const BENCH_POST_LIMIT = 1_000_000;

const answerBot: ChatHandler = {
  async handle({ event }, ctx) {
    if (event.type === 'message' && event.sender.kind === 'visitor' && event.text.startsWith('q:'))
      await ctx.reply(`a:${event.text.slice(2)}`);
  },
};

async function main(): Promise<void> {
  const env = process.env;
  const kind = (env.STORAGE ?? 'memory') as StorageKind;
  const storage = await openStorage({
    kind,
    dataDir: env.DATA_DIR ?? '',
    databaseUrl: env.DATABASE_URL,
    pgSchema: env.PG_SCHEMA,
    masterKeys: { key: env.MASTER_KEY, previous: [] },
    instanceId: env.INSTANCE_ID,
  });
  const config = loadConfig({});
  const limits = config.rate.limits;
  const app = createBotApp({
    config: {
      ...config,
      rate: {
        ...config.rate,
        limits: {
          ...limits,
          perMethod: { ...limits.perMethod, 'chat.postMessage': BENCH_POST_LIMIT },
          perConversation: { ratePerSec: 1_000, burst: 1_000 },
        },
      },
    },
    clickdesk: {
      apiUrl: env.SIM_API_URL ?? '',
      appToken: 'xapp-sandbox-app-token',
      botToken: 'xoxb-sandbox-bot-token',
    },
    logger: silentLogger(),
    handler: answerBot,
    inbox: storage.inbox,
    conversations: storage.conversations,
    messages: storage.messages,
    profiles: storage.profiles,
  });
  await app.start();
  while (app.gateway.openConnections < config.rtm.connections) await new Promise((r) => setTimeout(r, 10));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void app
      .stop()
      .then(() => storage.close())
      .then(() => process.exit(0));
  });
}

void main();
