import type { Logger } from 'pino';
import type { GatewayObserver } from './clickdesk/gateway';
import type { LinkSeatStore } from './clickdesk/link-seats';
import type { AppConfig } from './config/load-config';
import type { ChatHandler } from './core/chat-handler';
import type { ConversationStore, MessageStore, ProfileStore } from './core/conversation-store';
import type { EventInbox } from './core/event-inbox';
import type { FaultPoint } from './core/fault-point';
import type { CodedError } from './errors';
import type { InstallationStore } from './installations/installation-store';
import type { UsedStates } from './installations/install-state';
import type { TokenRotatorOptions } from './installations/token-rotator';
import type { ErasureWorkerOptions } from './lifecycle/erasure-worker';
import type { ReceiptSigner } from './lifecycle/receipt-signer';
import type { AppMetrics } from './metrics/app-metrics';
import type { RateStore } from './rate-limit/rate-store';
import type { Storage } from './storage/open-storage';

/** What `createBotApp` takes: the configuration it reads, the credentials, and every part a caller may replace. */
export interface ClickDeskCredentials {
  readonly apiUrl: string;
  readonly appToken: string;
  /** Single-team setup: one static bot token. Without it, each team's comes from its installation. */
  readonly botToken?: string;
}

/** One app, many teams (docs/installations.md): the install flow, the store, token rotation. */
export interface InstallationWiring {
  store: InstallationStore;
  usedStates: UsedStates;
  clientId: string;
  clientSecret: string;
  /** The app's public base URL; ClickDesk sends installers back to `{publicUrl}/oauth/callback`. */
  publicUrl: () => string;
  rotation?: Pick<TokenRotatorOptions, 'refreshAheadMs' | 'leaseMs' | 'sweepMs' | 'afterGrant'>;
  /** The install flow's clock (tests move it past the state's 10 minutes). */
  now?: () => number;
}

export type BotAppConfig = Pick<
  AppConfig,
  | 'rtm'
  | 'shutdownTimeoutMs'
  | 'policy'
  | 'egressAllowedOrigins'
  | 'metricsToken'
  | 'metricsPort'
  | 'rate'
  | 'httpServer'
  | 'operator'
>;

export interface BotAppOptions {
  config: BotAppConfig;
  clickdesk: ClickDeskCredentials;
  logger: Logger;
  /** The bot: called once per event (see `ChatHandler`). */
  handler: ChatHandler;
  /** Origins the handler's `ctx.fetch` may reach besides EGRESS_ALLOWED_ORIGINS (the bot's own services). */
  botEgress?: readonly string[];
  /** Sent instead of a reply the channel policy blocks, unless POLICY_FALLBACK_TEXT is set. */
  fallbackText?: string;
  inbox?: EventInbox;
  conversations?: ConversationStore;
  messages?: MessageStore;
  profiles?: ProfileStore;
  /** The app's metrics; created here unless the root made them first (to observe storage too). */
  metrics?: AppMetrics;
  /** Where the rate governor counts; defaults to Redis with `config.rate.redisUrl`, else memory. */
  rateStore?: RateStore;
  /** The fleet's link register; defaults to Redis with `config.rate.redisUrl`, else this process's memory. */
  linkSeats?: LinkSeatStore;
  /** Observes the gateway besides the app's own metrics (tests). */
  gatewayObserver?: GatewayObserver;
  /** Called once if ClickDesk refuses the app for good (link disabled, credentials refused, API access terminated). */
  onFatal?: (err: CodedError) => void;
  /** Data lifecycle (deletion webhooks, erasure, receipts, access export); needs SQL storage. */
  lifecycle?: LifecycleWiring;
  /**
   * Leases: `heartbeatMs` renews this instance's leases on events and effects, `recoverMs` looks
   * for events and effects whose instance died (their lease ran out). Defaults 5 s and 5 s, for
   * a 15 s lease (the storage's).
   */
  leases?: { heartbeatMs: number; recoverMs: number };
  /** Handler runs per event before it becomes a dead letter, and the backoff between them. */
  handlerRetry?: { maxAttempts: number; baseMs: number; maxMs: number };
  /** Backoff between delivery tries of an effect (never given up on transient failures). */
  deliveryRetry?: { baseMs: number; maxMs: number };
  /** Crash tests only: stops the process at a named step (test/fixtures/crash-app-child.ts). */
  faultPoint?: FaultPoint;
  /** Installations by OAuth; without it the static `clickdesk.botToken` serves every call. */
  installations?: InstallationWiring;
  /** A cheap write that tells whether storage can commit now (readiness); none for memory storage. */
  storageProbe?: () => Promise<void>;
  /** How often the storage probe runs (default 2 s). */
  storageProbeMs?: number;
}

export interface LifecycleWiring {
  sql: NonNullable<Storage['sql']>;
  signer: ReceiptSigner;
  webhookSecrets: readonly string[];
  adminToken: string | undefined;
  /** CLICKDESK_APP_ID if configured; otherwise auth.test tells. Webhooks for other apps are ignored. */
  appId?: string;
  worker?: Pick<ErasureWorkerOptions, 'batchSize' | 'pollMs' | 'leaseMs' | 'afterBatch'>;
  /** Terms 6.1: how often records are re-confirmed, and how long messages are kept at most. */
  freshness: { intervalMs: number; retentionMs: number };
  /** MASTER_KEY_MAX_AGE_DAYS (default 90), published beside the master key's age. */
  masterKeyMaxAgeDays?: number;
}
