import type { Logger } from 'pino';
import type express from 'express';
import type { AppConfig } from './config/load-config';
import { DefaultBot } from './bot/default-bot';
import { loadFaq } from './bot/faq';
import { ClickDeskChatActions } from './clickdesk/clickdesk-chat-actions';
import { ClickDeskGateway, type GatewayObserver } from './clickdesk/gateway';
import { ClickDeskWebApi } from './clickdesk/web-api-client';
import type { ChatActions } from './core/chat-actions';
import type { ChatHandler } from './core/chat-handler';
import type { ConversationStore, MessageStore } from './core/conversation-store';
import { EventDispatcher } from './core/event-dispatcher';
import type { EventInbox } from './core/event-inbox';
import { CodedError } from './errors';
import { metricsRouter } from './http/metrics-router';
import { AppMetrics } from './metrics/app-metrics';
import { ChannelPolicy } from './policy/channel-policy';
import { createEgressFetch } from './policy/egress-fetch';
import { createOutboundGuard } from './policy/outbound-guard';
import { createHttpApp } from './http/create-http-app';
import { MemoryConversationStore, MemoryMessageStore } from './storage/memory/memory-conversation-store';
import { MemoryEventInbox } from './storage/memory/memory-event-inbox';

export interface ClickDeskCredentials {
  readonly apiUrl: string;
  readonly appToken: string;
  readonly botToken: string;
}

export interface BotAppOptions {
  config: Pick<
    AppConfig,
    'rtm' | 'shutdownTimeoutMs' | 'bot' | 'policy' | 'egressAllowedOrigins' | 'metricsToken'
  >;
  clickdesk: ClickDeskCredentials;
  logger: Logger;
  /** The bot; defaults to the FAQ bot reading `config.bot.faqFile`. */
  handler?: ChatHandler;
  inbox?: EventInbox;
  conversations?: ConversationStore;
  messages?: MessageStore;
  gatewayObserver?: GatewayObserver;
  /** Defaults to a fresh registry per app. */
  metrics?: AppMetrics;
  /** Called once if ClickDesk refuses the app for good (link disabled, credentials refused). */
  onFatal?: (err: CodedError) => void;
}

export interface BotApp {
  readonly http: express.Express;
  readonly gateway: ClickDeskGateway;
  readonly dispatcher: EventDispatcher;
  readonly api: ClickDeskWebApi;
  readonly policy: ChannelPolicy;
  readonly metrics: AppMetrics;
  start(): Promise<void>;
  /** Graceful: stop intake, ack what was recorded, finish handlers within the deadline, close links. */
  stop(): Promise<{ drained: boolean }>;
}

/** Wires the bot app from its parts; every part can be replaced through the options. */
export function createBotApp(opts: BotAppOptions): BotApp {
  const { config, clickdesk, logger } = opts;
  const inbox = opts.inbox ?? new MemoryEventInbox();
  const metrics = opts.metrics ?? new AppMetrics();
  const policy = new ChannelPolicy({ allowedDomains: config.policy.allowedDomains });
  if (!policy.check('', '', config.policy.fallbackText).allowed) {
    throw new CodedError(
      'CONFIG_INVALID',
      'POLICY_FALLBACK_TEXT is itself blocked by the channel policy: choose a plain reply.',
    );
  }
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
    fetchImpl: createEgressFetch([clickdesk.apiUrl, ...config.egressAllowedOrigins]),
  });
  const actions: ChatActions = new ClickDeskChatActions(api);
  const dispatcher = new EventDispatcher({
    inbox,
    conversations: opts.conversations ?? new MemoryConversationStore(),
    messages: opts.messages ?? new MemoryMessageStore(),
    handler: opts.handler ?? new DefaultBot(loadFaq(config.bot.faqFile)),
    actions,
    logger: logger.child({ part: 'dispatcher' }),
    onApplied: (event) => policy.observe(event),
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
    observer: opts.gatewayObserver,
  });
  const http = createHttpApp({
    logger,
    routers: [{ path: '/metrics', router: metricsRouter(metrics.registry, config.metricsToken) }],
    readiness: () => ({
      ready: gateway.running && gateway.openConnections > 0,
      detail: { rtm_connections: gateway.openConnections, handlers_pending: dispatcher.pending },
    }),
  });

  return {
    http,
    gateway,
    dispatcher,
    api,
    policy,
    metrics,
    async start() {
      await dispatcher.recover();
      gateway.start();
    },
    async stop() {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      await gateway.pause(Math.max(0, deadline - Date.now()));
      const drained = await dispatcher.drain(Math.max(0, deadline - Date.now()));
      if (!drained)
        logger.warn({ pending: dispatcher.pending }, 'shutdown deadline passed with handlers still running');
      await gateway.close();
      return { drained };
    },
  };
}
