import type express from 'express';
import type { Logger } from 'pino';
import type { InstallationWiring } from './app-options';
import { ClickDeskOAuthClient } from './installations/clickdesk-oauth-client';
import { installRouter } from './installations/install-router';
import { InstallState } from './installations/install-state';
import { TokenRotator } from './installations/token-rotator';
import type { AppMetrics } from './metrics/app-metrics';
import type { RateGovernor } from './rate-limit/rate-governor';

export interface AppInstallations {
  /** Each team's bot token, kept valid. */
  readonly tokens: TokenRotator;
  /** The install page and the OAuth callback. */
  readonly routes: Array<{ path: string; router: express.Router }>;
}

/**
 * Wires installation by OAuth: the client that exchanges and refreshes tokens (its calls go
 * through the rate governor and the egress allow-list), the rotator that keeps each team's bot
 * token valid, and the routes a team installs through.
 */
export function createAppInstallations(
  installs: InstallationWiring,
  deps: {
    apiUrl: string;
    fetchImpl: typeof fetch;
    governor: RateGovernor;
    logger: Logger;
    metrics: AppMetrics;
  },
): AppInstallations {
  const { logger, metrics } = deps;
  const oauth = new ClickDeskOAuthClient({
    apiUrl: deps.apiUrl,
    clientId: installs.clientId,
    clientSecret: installs.clientSecret,
    redirectUri: () => new URL('oauth/callback', `${installs.publicUrl().replace(/\/+$/, '')}/`).toString(),
    fetchImpl: deps.fetchImpl,
    governor: deps.governor,
  });
  const tokens = new TokenRotator({
    store: installs.store,
    oauth,
    logger: logger.child({ part: 'tokens' }),
    ...installs.rotation,
    onRefresh: (outcome) => metrics.installations.refreshes.inc({ outcome }),
  });
  metrics.installations.bind(() => installs.store.list());
  return {
    tokens,
    routes: [
      {
        path: '/',
        router: installRouter({
          oauth,
          state: new InstallState(installs.clientSecret, installs.usedStates, installs.now),
          store: installs.store,
          logger,
          onInstalled: (inst) => tokens.installed(inst),
        }),
      },
    ],
  };
}
