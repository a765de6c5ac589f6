import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createLogger,
  startApp,
  type BotDefinition,
  type BotSettingsSchema,
  type RunningApp,
} from '@clickdesk-bot/kit';
import { Simulator } from '../simulator';
import type { SimulatorOptions } from '../simulator-options';
import { AppLog, type LogLevel } from './app-log';
import { SandboxChat } from './sandbox-chat';

export interface BotSandboxOptions {
  /** Settings for the app and the bot, as environment variables (the bot's own included). */
  env?: Record<string, string>;
  /** `sqlite` (default: a temp folder, removed at stop) or `memory`. */
  storage?: 'sqlite' | 'memory';
  /** Simulator options (timings, limits, fault switches). */
  simulator?: Partial<SimulatorOptions>;
  /** The app's log lines on stdout at this level (e.g. `debug` while a test misbehaves); silent by default. */
  logLevel?: LogLevel;
  /** How long `start` waits for the app's first ClickDesk link. */
  connectTimeoutMs?: number;
}

/** A bot running in this process against the real simulator; see `startBotSandbox`. */
export interface BotSandbox {
  readonly simulator: Simulator;
  readonly running: RunningApp;
  /** A visitor opens the chat widget (the bot receives `conversation_started`). */
  openChat(visitor?: { name?: string; email?: string; pageUrl?: string }): SandboxChat;
  /** Stops the app (gracefully), the simulator, and removes the temp data folder. */
  stop(): Promise<void>;
}

/**
 * Starts the ClickDesk simulator on a free port and the app with `bot` against it, in this
 * process, through the same start-up as `npm start` (install flow, storage, outbox, policy):
 * a bot test is a conversation with the real engine, not a mock.
 */
export async function startBotSandbox<S extends BotSettingsSchema>(
  bot: BotDefinition<S>,
  options: BotSandboxOptions = {},
): Promise<BotSandbox> {
  const appLog = new AppLog(options.logLevel);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'clickdesk-bot-test-'));
  const simulator = new Simulator({
    ackTimeoutMs: 1_000,
    agentJoinDelayMs: 50,
    ...options.simulator,
    oauth: {
      clientId: 'sandbox-client-id',
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUris: [],
      codeTtlMs: 10 * 60_000,
      accessTokenTtlMs: 12 * 60 * 60_000,
      refreshReuseMs: 60_000,
      ...options.simulator?.oauth,
    },
  });
  let running: RunningApp | undefined;
  try {
    await simulator.listen(0);
    running = await startApp(bot, {
      env: {
        SANDBOX: '1',
        HTTP_PORT: '0',
        DATA_DIR: dataDir,
        STORAGE: options.storage ?? 'sqlite',
        SHUTDOWN_TIMEOUT_MS: '2000',
        RTM_CONNECTIONS: '1',
        ...options.env,
      },
      simulator,
      logger: createLogger(appLog.level, appLog),
    });
    const deadline = Date.now() + (options.connectTimeoutMs ?? 5_000);
    while (running.app.gateway.openConnections === 0) {
      if (Date.now() > deadline)
        throw new Error('the app did not connect to the simulator within the connect timeout');
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (err) {
    await running?.stop().catch(() => undefined);
    await simulator.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const app = running;
  return {
    simulator,
    running: app,
    openChat: (visitor = {}) => {
      const chat = simulator.startVisitorChat(visitor.name ?? 'Test Visitor', visitor.email, visitor.pageUrl);
      return new SandboxChat(simulator, chat.conversationId, chat.visitorId, () => appLog.recentProblems());
    },
    async stop() {
      await app.stop();
      await simulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
