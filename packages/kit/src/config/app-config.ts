import type { CountryCode } from 'libphonenumber-js';
import type { RateLimits } from '../rate-limit/bucket-spec';

/** The app's configuration as `loadConfig` returns it: validated, defaulted, frozen. */
export interface AppConfig {
  readonly mode: 'sandbox' | 'live';
  readonly logLevel: string;
  readonly http: { readonly host: string; readonly port: number };
  /** Live mode only; in sandbox mode the root fills these in from the simulator it starts. */
  readonly clickdesk: {
    readonly apiUrl?: string;
    readonly appToken?: string;
    readonly botToken?: string;
    /** The app's own id, if configured; otherwise learned from auth.test. */
    readonly appId?: string;
  };
  /** Installation by OAuth (docs/installations.md); in sandbox mode the root fills these in. */
  readonly oauth: {
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly publicUrl: string | undefined;
  };
  readonly sandbox: {
    readonly host: string;
    readonly port: number;
    /** SANDBOX: 'on' (=1), 'off' (=0) or 'unset'; see check-start-mode.ts for when sandbox mode may start. */
    readonly switch: 'on' | 'off' | 'unset';
  };
  /** NODE_ENV=production: sandbox mode never starts by itself. */
  readonly production: boolean;
  /** Limits of every HTTP server the app listens with, and the proxies it trusts. */
  readonly httpServer: {
    /** Reverse proxies whose X-Forwarded-For / -Proto are believed (express 'trust proxy'). */
    readonly trustProxy: readonly string[];
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxConnections: number;
  };
  readonly rtm: {
    readonly connections: number;
    /** Links the whole app (every instance) may hold at ClickDesk (contract §2.7: 10). */
    readonly appLinks?: number;
    readonly pingIntervalMs: number;
    readonly pongTimeoutMs: number;
    readonly stallTimeoutMs: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly policy: {
    readonly allowedDomains: readonly string[];
    readonly onBlock: 'fallback' | 'drop';
    /** POLICY_FALLBACK_TEXT; unset, the bot's own fallback text (or the kit's neutral one) is sent. */
    readonly fallbackText: string | undefined;
    /** Whose national phone format visitors write in; international numbers are found without it. */
    readonly phoneCountry: CountryCode | undefined;
  };
  /** Origins besides ClickDesk's API that outbound HTTP may reach. */
  readonly egressAllowedOrigins: readonly string[];
  readonly metricsToken: string | undefined;
  /** Serve /metrics on this port instead of the main HTTP port. */
  readonly metricsPort: number | undefined;
  /** Serve /healthz and /readyz also on this port, whose connections the main port's clients cannot use up. */
  readonly healthPort: number | undefined;
  readonly storage: {
    readonly kind: 'sqlite' | 'postgres' | 'memory';
    readonly dataDir: string;
    readonly databaseUrl: string | undefined;
    readonly masterKey: string | undefined;
    readonly masterKeyFile: string | undefined;
    readonly masterKeyPrevious: readonly string[];
    /** Stable, unique per running instance: a restart takes its own leases back at once. */
    readonly instanceId: string | undefined;
    /** Rotate (and retire the old key) at least this often: erasures reach layer (c) only then. */
    readonly masterKeyMaxAgeDays: number;
    /** How long start-up waits for an unreachable database before giving up. */
    readonly connectTimeoutMs: number;
  };
  /** Who runs the app, named on /privacy and /terms (Terms 7). */
  readonly operator: { readonly name: string | undefined; readonly contact: string | undefined };
  readonly lifecycle: {
    readonly webhookSecrets: readonly string[];
    readonly adminToken: string | undefined;
    readonly receiptSigningKeyFile: string;
    readonly freshnessCheckIntervalMs: number;
    readonly messageRetentionDays: number;
  };
  readonly rate: {
    readonly limits: RateLimits;
    readonly maxQueuePerMethod: number;
    readonly replyDeadlineMs: number;
    readonly backgroundDeadlineMs: number;
    /** Share one budget among instances through Redis. */
    readonly redisUrl: string | undefined;
    /** While Redis is unreachable, each instance plans with 1/N of every limit (N at least this). */
    readonly fallbackInstances?: number;
  };
}
