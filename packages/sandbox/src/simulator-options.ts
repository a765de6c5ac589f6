import type { OAuthOptions } from './oauth-authority';

/** Every number of the contract (docs/clickdesk-contract.md), adjustable for tests and benchmarks. */
export interface SimulatorOptions {
  appId: string;
  /** Shown on the consent page. */
  appName: string;
  /** The app's OAuth registration and the §4 timings (codes, token lifetime, reuse interval). */
  oauth: OAuthOptions;
  appToken: string;
  teams: Array<{ id: string; name: string; botToken: string; botId: string }>;
  windowMs: number;
  /** Calls per window, by method; `apps.connections.open` counts per app. */
  limits: Record<string, number>;
  postMessagePerConversation: { ratePerSec: number; burst: number };
  ticketTtlMs: number;
  ackTimeoutMs: number;
  maxRetries: number;
  pingIntervalMs: number;
  /** After a `warning` notice, the server closes the link this much later. */
  warningCloseMs: number;
  /** After `refresh_requested`, a client that has not closed is cut off this much later. */
  refreshGraceMs: number;
  maxConnections: number;
  /** Unacknowledged envelopes per app beyond which delivery waits (flow control for benchmarks). */
  maxInFlight: number;
  /** The app's base URL: the visitor page links to its /privacy and /terms. */
  appUrl: string;
  /** How long after a transfer a simulated agent joins; negative: never. */
  agentJoinDelayMs: number;
  webhook: {
    url: string | undefined;
    secrets: string[];
    retries: number;
    timeoutMs: number;
    /** Delay before retry n is `retryBaseMs * 2^(n-1)`. */
    retryBaseMs: number;
  };
}

export const DEFAULT_LIMITS: Record<string, number> = {
  'apps.connections.open': 20,
  'auth.test': 100,
  'team.info': 50,
  'agents.list': 20,
  'visitors.info': 50,
  'conversations.info': 50,
  'conversations.transfer': 50,
  'conversations.history': 50,
  'chat.postMessage': 600,
  'auth.revoke': 50,
  'oauth.v2.access': 20,
};

export function simulatorOptions(overrides: Partial<SimulatorOptions> = {}): SimulatorOptions {
  return {
    appId: 'A0SANDBOX',
    appName: 'ClickDesk Bot Starter',
    appToken: 'xapp-sandbox-app-token',
    teams: [
      { id: 'T0SANDBOX', name: 'Sandbox Team', botToken: 'xoxb-sandbox-bot-token', botId: 'B0SANDBOX' },
    ],
    windowMs: 60_000,
    postMessagePerConversation: { ratePerSec: 1, burst: 3 },
    ticketTtlMs: 30_000,
    ackTimeoutMs: 3_000,
    maxRetries: 3,
    pingIntervalMs: 10_000,
    warningCloseMs: 10_000,
    refreshGraceMs: 2_000,
    maxConnections: 10,
    maxInFlight: Number.POSITIVE_INFINITY,
    agentJoinDelayMs: 1_500,
    appUrl: '',
    ...overrides,
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
    oauth: {
      clientId: 'sandbox-client-id',
      clientSecret: 'sandbox-client-secret',
      redirectUris: [],
      codeTtlMs: 10 * 60_000,
      accessTokenTtlMs: 12 * 60 * 60_000,
      refreshReuseMs: 60_000,
      ...overrides.oauth,
    },
    webhook: {
      url: undefined,
      secrets: [],
      retries: 5,
      timeoutMs: 5_000,
      retryBaseMs: 1_000,
      ...overrides.webhook,
    },
  };
}
