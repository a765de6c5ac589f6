import type { Logger } from 'pino';
import express from 'express';
import { DefaultBot } from './bot/default-bot';
import { loadFaq } from './bot/faq';
import { ClickDeskChatActions } from './clickdesk/clickdesk-chat-actions';
import { ClickDeskGateway, type GatewayObserver } from './clickdesk/gateway';
import { ClickDeskWebApi } from './clickdesk/web-api-client';
import type { AppConfig } from './config/load-config';
import type { ChatHandler } from './core/chat-handler';
import type { ConversationStore, MessageStore, ProfileStore } from './core/conversation-store';
import { EventDispatcher } from './core/event-dispatcher';
import type { EventInbox } from './core/event-inbox';
import { CodedError, describeError } from './errors';
import { createHttpApp } from './http/create-http-app';
import { metricsRouter } from './http/metrics-router';
import { AppMetrics } from './metrics/app-metrics';
import { ChannelPolicy } from './policy/channel-policy';
import { createEgressFetch } from './policy/egress-fetch';
import { createOutboundGuard } from './policy/outbound-guard';
import { MemoryRateStore } from './rate-limit/memory-rate-store';
import { RateGovernor } from './rate-limit/rate-governor';
import type { RateStore } from './rate-limit/rate-store';
import { RedisRateStore } from './rate-limit/redis-rate-store';
import {
  MemoryConversationStore,
  MemoryMessageStore,
  MemoryProfileStore,
} from './storage/memory/memory-conversation-store';
import { MemoryEventInbox } from './storage/memory/memory-event-inbox';

export interface ClickDeskCredentials {
  readonly apiUrl: string;
  readonly appToken: string;
  readonly botToken: string;
}

export type BotAppConfig = Pick<
  AppConfig,
  | 'rtm'
  | 'shutdownTimeoutMs'
  | 'bot'
  | 'policy'
  | 'egressAllowedOrigins'
  | 'metricsToken'
  | 'metricsPort'
  | 'rate'
>;

export interface BotAppOptions {
  config: BotAppConfig;
  clickdesk: ClickDeskCredentials;
  logger: Logger;
  /** The bot; defaults to the FAQ bot reading `config.bot.faqFile`. */
  handler?: ChatHandler;
  inbox?: EventInbox;
  conversations?: ConversationStore;
  messages?: MessageStore;
  profiles?: ProfileStore;
  /** The app's metrics; created here unless the root made them first (to observe storage too). */
  metrics?: AppMetrics;
  /** Where the rate governor counts; defaults to Redis with `config.rate.redisUrl`, else memory. */
  rateStore?: RateStore;
  /** Observes the gateway besides the app's own metrics (tests). */
  gatewayObserver?: GatewayObserver;
  /** Called once if ClickDesk refuses the app for good (link disabled, credentials refused). */
  onFatal?: (err: CodedError) => void;
}

export interface BotApp {
  /** The app's HTTP surface (health, readiness, and /metrics unless it has a port of its own). */
  readonly http: express.Express;
  /** /metrics alone, for `METRICS_PORT`. */
  readonly metricsHttp: express.Express;
  readonly gateway: ClickDeskGateway;
  readonly dispatcher: EventDispatcher;
  readonly api: ClickDeskWebApi;
  readonly governor: RateGovernor;
  readonly policy: ChannelPolicy;
  readonly metrics: AppMetrics;
  start(): Promise<void>;
  /** Graceful: stop intake, ack what was recorded, finish handlers within the deadline, close links. */
  stop(): Promise<{ drained: boolean }>;
}

/** Wires the bot app from its parts; every part can be replaced through the options. */
export function createBotApp(opts: BotAppOptions): BotApp {
  const { config, clickdesk, logger } = opts;
  const metrics = opts.metrics ?? new AppMetrics();
  const inbox = opts.inbox ?? new MemoryEventInbox();

  const policy = new ChannelPolicy({ allowedDomains: config.policy.allowedDomains });
  if (!policy.check('', '', config.policy.fallbackText).allowed) {
    throw new CodedError(
      'CONFIG_INVALID',
      'POLICY_FALLBACK_TEXT is itself blocked by the channel policy: choose a plain reply.',
    );
  }
  const rateStore =
    opts.rateStore ??
    (config.rate.redisUrl ? new RedisRateStore(config.rate.redisUrl) : new MemoryRateStore());
  const governor = new RateGovernor({
    limits: config.rate.limits,
    store: rateStore,
    maxQueuePerMethod: config.rate.maxQueuePerMethod,
    deadlineMs: { reply: config.rate.replyDeadlineMs, background: config.rate.backgroundDeadlineMs },
    logger: logger.child({ part: 'rate-governor' }),
    observer: metrics.governorObserver(),
  });
  metrics.bindGovernor(governor);

  const api = new ClickDeskWebApi({
    baseUrl: clickdesk.apiUrl,
    appToken: clickdesk.appToken,
    botTokenFor: () => clickdesk.botToken,
    review: createOutboundGuard({
      policy,
      onBlock: config.policy.onBlock,
      fallbackText: config.policy.fallbackText,
      logger: logger.child({ part: 'policy' }),
      onBlocked: (rule) => metrics.policyBlocked.inc({ rule }),
    }),
    governor,
    fetchImpl: createEgressFetch([clickdesk.apiUrl, ...config.egressAllowedOrigins]),
    onResponse: ({ method, outcome }) => metrics.apiRequests.inc({ method, outcome }),
  });
  const dispatcher = new EventDispatcher({
    inbox,
    conversations: opts.conversations ?? new MemoryConversationStore(),
    messages: opts.messages ?? new MemoryMessageStore(),
    profiles: opts.profiles ?? new MemoryProfileStore(),
    handler: opts.handler ?? new DefaultBot(loadFaq(config.bot.faqFile)),
    actions: new ClickDeskChatActions(api),
    logger: logger.child({ part: 'dispatcher' }),
    onApplied: (event) => policy.observe(event),
    onHandled: (_event, outcome, seconds) => metrics.handlerDuration.observe({ outcome }, seconds),
    onReplied: (seconds) => metrics.botReplyLatency.observe(seconds),
  });
  const gateway = new ClickDeskGateway({
    ...config.rtm,
    openConnection: () => api.openConnection(),
    intake: async (event) => {
      const outcome = await inbox.record(event);
      if (outcome === 'recorded') dispatcher.submit(event);
      return outcome;
    },
    logger: logger.child({ part: 'gateway' }),
    onFatal: (err) => opts.onFatal?.(err),
    observer: combineObservers(metrics.gatewayObserver(), opts.gatewayObserver),
  });

  const metricsRoute = { path: '/metrics', router: metricsRouter(metrics.registry, config.metricsToken) };
  const http = createHttpApp({
    logger,
    readiness: () => ({
      ready: gateway.running && gateway.openConnections > 0,
      detail: {
        rtm_connections: gateway.openConnections,
        handlers_pending: dispatcher.pending,
        rate_queue: governor.queueLength,
      },
    }),
    routers: config.metricsPort === undefined ? [metricsRoute] : [],
  });
  const metricsHttp = express().use(metricsRoute.path, metricsRoute.router);
  let recovery: NodeJS.Timeout | undefined;
  const recover = (): void => {
    dispatcher
      .recover()
      .catch((err: unknown) =>
        logger.error({ err: describeError(err) }, 'replaying unhandled events failed'),
      );
  };

  return {
    http,
    metricsHttp,
    gateway,
    dispatcher,
    api,
    governor,
    policy,
    metrics,
    async start() {
      await dispatcher.recover();
      // Events another instance recorded and then died holding are replayed once their lease ends.
      recovery = setInterval(recover, 30_000);
      recovery.unref();
      gateway.start();
    },
    async stop() {
      clearInterval(recovery);
      const deadline = Date.now() + config.shutdownTimeoutMs;
      await gateway.pause(Math.max(0, deadline - Date.now()));
      const drained = await dispatcher.drain(Math.max(0, deadline - Date.now()));
      if (!drained)
        logger.warn({ pending: dispatcher.pending }, 'shutdown deadline passed with handlers still running');
      governor.close();
      await gateway.close();
      if (!opts.rateStore) await rateStore.close();
      return { drained };
    },
  };
}

function combineObservers(...observers: Array<GatewayObserver | undefined>): GatewayObserver {
  const all = observers.filter((o): o is GatewayObserver => o !== undefined);
  return {
    connectionChanged: (open) => all.forEach((o) => o.connectionChanged?.(open)),
    reconnect: (reason) => all.forEach((o) => o.reconnect?.(reason)),
    envelope: (outcome) => all.forEach((o) => o.envelope?.(outcome)),
    protocolError: () => all.forEach((o) => o.protocolError?.()),
    acked: (seconds) => all.forEach((o) => o.acked?.(seconds)),
  };
}
