import { createBotApp, type BotApp, type BotAppConfig, type BotAppOptions } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import type { ChatHandler } from '../../src/core/chat-handler';
import { silentLogger } from '../../src/logging/create-logger';
import { Simulator } from '@clickdesk-bot/sandbox';
import type { SimulatorOptions } from '@clickdesk-bot/sandbox';
import { RecordingHandler } from './recording-handler';

/** Contract timings scaled down so fault tests run in well under a second each. */
export const FAST_SIMULATOR: Partial<SimulatorOptions> = {
  ackTimeoutMs: 300,
  pingIntervalMs: 200,
  warningCloseMs: 400,
  refreshGraceMs: 300,
  agentJoinDelayMs: 100,
};

export const FAST_RTM = {
  connections: 2,
  pingIntervalMs: 100,
  pongTimeoutMs: 150,
  stallTimeoutMs: 800,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
};

export interface SandboxPair {
  sim: Simulator;
  app: BotApp;
  recorder: RecordingHandler;
  stop(): Promise<void>;
}

type PairOptions = {
  simulator?: Partial<SimulatorOptions>;
  rtm?: Partial<typeof FAST_RTM>;
  handler?: ChatHandler;
  app?: Partial<Omit<BotAppOptions, 'config'>>;
  config?: Partial<BotAppConfig>;
  waitConnected?: boolean;
};

/** A bot app connected to an existing simulator, its handler wrapped in a recorder. */
export async function connectApp(
  sim: Simulator,
  options: Omit<PairOptions, 'simulator'> = {},
): Promise<{ app: BotApp; recorder: RecordingHandler }> {
  const config = loadConfig({});
  const recorder = new RecordingHandler(options.handler);
  const app = createBotApp({
    config: { ...config, rtm: { ...FAST_RTM, ...options.rtm }, shutdownTimeoutMs: 2_000, ...options.config },
    clickdesk: sim.credentials(),
    logger: silentLogger(),
    handler: recorder,
    ...options.app,
  });
  await app.start();
  if (options.waitConnected !== false) {
    const want = options.rtm?.connections ?? FAST_RTM.connections;
    const deadline = Date.now() + 5_000;
    while (app.gateway.openConnections < want) {
      if (Date.now() > deadline) throw new Error('app did not connect to the simulator');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { app, recorder };
}

/** A simulator on port 0 and a bot app connected to it, both in this process. */
export async function startSandboxPair(options: PairOptions = {}): Promise<SandboxPair> {
  const sim = new Simulator({ ...FAST_SIMULATOR, ...options.simulator });
  await sim.listen(0);
  const { app, recorder } = await connectApp(sim, options);
  return {
    sim,
    app,
    recorder,
    async stop() {
      await app.stop();
      await sim.close();
    },
  };
}
