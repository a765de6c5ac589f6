import type { Server } from 'node:http';
import { FaqHandler } from './faq-handler';
import type { ChatHandler } from '../../src/core/chat-handler';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { BotApp, BotAppOptions, InstallationWiring } from '../../src/app';
import { Simulator } from '@clickdesk-bot/sandbox';
import type { SimulatorOptions } from '@clickdesk-bot/sandbox';
import { MemoryInstallationStore } from '../../src/storage/memory/memory-installation-store';
import { MemoryUsedStates } from '../../src/storage/memory/memory-used-states';
import type { RecordingHandler } from './recording-handler';
import { connectApp, FAST_SIMULATOR, type FAST_RTM } from './sandbox-pair';
import type { BotAppConfig } from '../../src/app';

export { OAUTH } from './oauth-constants';
import { OAUTH } from './oauth-constants';

export interface InstalledApp {
  app: BotApp;
  recorder: RecordingHandler;
  url: string;
  stop(): Promise<void>;
}

type AppOptions = {
  /** Defaults to the FAQ bot, so visitors get answers. */
  handler?: ChatHandler;
  installations?: Partial<InstallationWiring>;
  app?: Partial<Omit<BotAppOptions, 'config'>>;
  config?: Partial<BotAppConfig>;
  rtm?: Partial<typeof FAST_RTM>;
};

/** A simulator that knows the test app's OAuth registration (redirect URLs are added per app). */
export async function startOAuthSimulator(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const sim = new Simulator({
    ...FAST_SIMULATOR,
    ...options,
    oauth: {
      ...OAUTH,
      redirectUris: [],
      codeTtlMs: 600_000,
      accessTokenTtlMs: 3_600_000,
      refreshReuseMs: 60_000,
      ...options.oauth,
    },
  });
  await sim.listen(0);
  return sim;
}

/**
 * A bot app in the many-teams setup (no static bot token), its HTTP server listening on port 0
 * so ClickDesk's consent page can send the browser back to it; its callback is registered.
 */
export async function startInstallingApp(sim: Simulator, options: AppOptions = {}): Promise<InstalledApp> {
  let url = '';
  const { app, recorder } = await connectApp(sim, {
    handler: options.handler ?? new FaqHandler(),
    rtm: options.rtm,
    config: options.config,
    app: {
      clickdesk: { apiUrl: sim.apiUrl, appToken: sim.options.appToken },
      installations: {
        store: new MemoryInstallationStore(),
        usedStates: new MemoryUsedStates(),
        ...OAUTH,
        publicUrl: () => url,
        ...options.installations,
      },
      ...options.app,
    },
  });
  const server: Server = app.http.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sim.options.oauth.redirectUris.push(`${url}/oauth/callback`);
  if (!sim.options.appUrl) sim.options.appUrl = url;
  return {
    app,
    recorder,
    url,
    async stop() {
      await app.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
