import { randomUUID } from 'node:crypto';
import express from 'express';
import { ClickDeskDelivery } from './clickdesk/clickdesk-delivery';
import { defaultLinkSeats } from './clickdesk/default-link-seats';
import { FleetSeats } from './clickdesk/fleet-seats';
import { combineObservers } from './clickdesk/combine-observers';
import { ClickDeskGateway } from './clickdesk/gateway';
import { ClickDeskWebApi } from './clickdesk/web-api-client';
import type { InboundEvent } from './core/chat-event';
import { EventDispatcher } from './core/event-dispatcher';
import type { EventInbox } from './core/event-inbox';
import { ListeningClock } from './delivery/listening-clock';
import { OutboxSender } from './delivery/outbox-sender';
import { CodedError, describeError, isCodedError } from './errors';
import { createHttpApp } from './http/create-http-app';
import { createProbeHttpApp } from './http/create-probe-http-app';
import type { Readiness } from './http/probe-router';
import { metricsRouter } from './http/metrics-router';
import { AppMetrics } from './metrics/app-metrics';
import { ChannelPolicy } from './policy/channel-policy';
import { createEgressFetch } from './policy/egress-fetch';
import { createOutboundGuard } from './policy/outbound-guard';
import { RateGovernor } from './rate-limit/rate-governor';
import { FallbackRateStore } from './rate-limit/fallback-rate-store';
import { defaultRateStore } from './rate-limit/default-rate-store';
import { StorageHealth } from './health/storage-health';
import { dependencyStates, noLinkByDesign } from './health/readiness';
import { readinessReport } from './health/readiness-report';
import { registerDependencyMetrics } from './metrics/dependency-metrics';
import { registerLinkMetrics } from './metrics/link-metrics';
import { isStorageUnavailable } from './storage/storage-unavailable';
import {
  MemoryConversationStore,
  MemoryMessageStore,
  MemoryProfileStore,
} from './storage/memory/memory-conversation-store';
import { MemoryEventInbox } from './storage/memory/memory-event-inbox';
import { legalPagesRouter } from './http/legal-pages';
import type { ErasureWorker } from './lifecycle/erasure-worker';
import type { FreshnessRefresher } from './lifecycle/freshness-refresher';
import { createAppLifecycle } from './app-lifecycle';
import { createMetricsHttpApp } from './http/create-metrics-http-app';
import type { TokenRotator } from './installations/token-rotator';
import { createAppInstallations } from './app-installations';
import type { BotAppOptions } from './app-options';

export type {
  BotAppConfig,
  BotAppOptions,
  ClickDeskCredentials,
  InstallationWiring,
  LifecycleWiring,
} from './app-options';

export interface BotApp {
  /** The app's HTTP surface (health, readiness, and /metrics unless it has a port of its own). */
  readonly http: express.Express;
  /** /metrics alone, for `METRICS_PORT`. */
  readonly metricsHttp: express.Express;
  /** /healthz and /readyz alone, for `HEALTH_PORT`. */
  readonly probeHttp: express.Express;
  readonly gateway: ClickDeskGateway;
  readonly dispatcher: EventDispatcher;
  readonly sender: OutboxSender;
  readonly api: ClickDeskWebApi;
  readonly governor: RateGovernor;
  readonly policy: ChannelPolicy;
  readonly metrics: AppMetrics;
  readonly worker: ErasureWorker | undefined;
  readonly refresher: FreshnessRefresher | undefined;
  /** Each team's bot token, kept valid; undefined in the single-team (static token) setup. */
  readonly tokens: TokenRotator | undefined;
  start(): Promise<void>;
  /** Graceful: stop intake, ack what was recorded, finish handlers within the deadline, close links. */
  stop(): Promise<{ drained: boolean }>;
}

/** Sent in place of a blocked reply when neither POLICY_FALLBACK_TEXT nor the bot names one. */
export const DEFAULT_FALLBACK_TEXT = "Sorry, I can't send that message here.";

/** Handling further behind than this stops the clock of echo waits (see ListeningClock). */
const HANDLING_LAG_MS = 1_000;
/** The longest a stopping instance waits for others to take over its links. */
const HANDOVER_MAX_MS = 5_000;
/** Contract §2.7: an app may hold up to 10 RTM connections. */
const CONTRACT_APP_LINKS = 10;

/** Wires the bot app from its parts; every part can be replaced through the options. */
export function createBotApp(opts: BotAppOptions): BotApp {
  const { config, clickdesk, logger } = opts;
  const metrics = opts.metrics ?? new AppMetrics();
  const inbox: EventInbox = opts.inbox ?? new MemoryEventInbox();

  const policy = new ChannelPolicy({
    allowedDomains: config.policy.allowedDomains,
    phoneCountry: config.policy.phoneCountry,
  });
  const fallbackText = config.policy.fallbackText ?? opts.fallbackText ?? DEFAULT_FALLBACK_TEXT;
  if (!policy.check('', '', fallbackText).allowed) {
    throw new CodedError(
      'CONFIG_INVALID',
      `${config.policy.fallbackText ? 'POLICY_FALLBACK_TEXT' : "The bot's fallbackText"} is itself blocked by the channel policy: choose a plain reply.`,
    );
  }
  const rateStore = opts.rateStore ?? defaultRateStore(config.rate, logger);
  const governor = new RateGovernor({
    limits: config.rate.limits,
    store: rateStore,
    maxQueuePerMethod: config.rate.maxQueuePerMethod,
    deadlineMs: { reply: config.rate.replyDeadlineMs, background: config.rate.backgroundDeadlineMs },
    logger: logger.child({ part: 'rate-governor' }),
    observer: metrics.governorObserver(),
  });
  metrics.bindGovernor(governor, config.rate.maxQueuePerMethod);

  const egressFetch = createEgressFetch([clickdesk.apiUrl, ...config.egressAllowedOrigins]);
  const installs = opts.installations;
  const installations =
    installs &&
    createAppInstallations(installs, {
      apiUrl: clickdesk.apiUrl,
      fetchImpl: egressFetch,
      governor,
      logger,
      metrics,
    });
  const tokens = installations?.tokens;
  const staticToken = (): string => {
    if (clickdesk.botToken) return clickdesk.botToken;
    throw new CodedError(
      'CONFIG_INVALID',
      'no bot token: set CLICKDESK_BOT_TOKEN or configure installations',
    );
  };
  const api = new ClickDeskWebApi({
    baseUrl: clickdesk.apiUrl,
    appToken: clickdesk.appToken,
    botTokenFor: tokens ? (teamId) => tokens.tokenFor(teamId) : staticToken,
    renewBotToken: tokens && ((teamId, expired) => tokens.renew(teamId, expired)),
    onBotAuthFailed: (teamId, apiError) => {
      if (!tokens || !installs || apiError !== 'token_revoked') return;
      // ClickDesk revoked the team's token (uninstalled, reinstalled elsewhere): stop using it.
      tokens.forget(teamId);
      logger.warn({ teamId }, "ClickDesk revoked this team's bot token: the installation is no longer used");
    },
    review: createOutboundGuard({
      policy,
      onBlock: config.policy.onBlock,
      fallbackText,
      logger: logger.child({ part: 'policy' }),
      onBlocked: (rule) => metrics.policyBlocked.inc({ rule }),
    }),
    governor,
    fetchImpl: egressFetch,
    onResponse: ({ method, outcome }) => metrics.apiRequests.inc({ method, outcome }),
  });
  const sender = new OutboxSender({
    outbox: inbox.outbox,
    delivery: new ClickDeskDelivery(api),
    logger: logger.child({ part: 'sender' }),
    // Half the governor's queue: a recovery burst waits here, never refused there.
    maxInFlight: Math.max(1, Math.min(256, Math.floor(config.rate.maxQueuePerMethod / 2))),
    retry: opts.deliveryRetry,
    onSent: (kind, seconds) => {
      if (kind === 'post') metrics.botReplyLatency.observe(seconds);
    },
    onRetry: () => metrics.outboxRetries.inc(),
    onDeadLetter: () => metrics.deadLettersCreated.inc({ kind: 'effect' }),
    // Read only once started, when the gateway below exists.
    listeningClock: () => listening.read(),
    faultPoint: opts.faultPoint,
  });
  const handlerSeconds = {
    ok: metrics.handlerDuration.series({ outcome: 'ok' }),
    retry: metrics.handlerDuration.series({ outcome: 'retry' }),
    dead_letter: metrics.handlerDuration.series({ outcome: 'dead_letter' }),
  };
  const dispatcher = new EventDispatcher({
    inbox,
    conversations: opts.conversations ?? new MemoryConversationStore(),
    messages: opts.messages ?? new MemoryMessageStore(),
    profiles: opts.profiles ?? new MemoryProfileStore(),
    handler: opts.handler,
    // Terms 4.8.2: what a handler fetches goes only to the origins the operator and the bot named.
    handlerFetch: createEgressFetch([...config.egressAllowedOrigins, ...(opts.botEgress ?? [])]),
    logger: logger.child({ part: 'dispatcher' }),
    maxAttempts: opts.handlerRetry?.maxAttempts,
    retry: opts.handlerRetry,
    onApplied: (event) => policy.observe(event),
    onEffects: () => sender.kick(),
    onHandled: (_event, outcome, seconds) => {
      handlerSeconds[outcome].observe(seconds);
      if (outcome === 'dead_letter') metrics.deadLettersCreated.inc({ kind: 'event' });
    },
    faultPoint: opts.faultPoint,
    isUnavailable: isStorageUnavailable,
    onStorage: (up, err) => {
      if (!up) storageHealth.failed(err);
    },
  });
  const storageHealth = new StorageHealth({
    probe: opts.storageProbe ?? (() => Promise.resolve()),
    intervalMs: opts.storageProbeMs,
    logger: logger.child({ part: 'storage-health' }),
    onRecovered: () => {
      // Work this instance held while storage failed (a send whose outcome could not be recorded)
      // is taken up again now rather than when this process restarts.
      inbox.reclaimOwnLeases?.();
      inbox.outbox.reclaimOwnLeases?.();
      recover();
      sender.kick();
    },
  });
  metrics.bindDeadLetters(() => inbox.deadLetters.count());
  const recordAndSubmit = (event: InboundEvent): Promise<'recorded' | 'duplicate'> =>
    inbox.record(event).then(
      (outcome) => {
        opts.faultPoint?.('after-record');
        if (outcome === 'recorded') dispatcher.submit(event);
        return outcome;
      },
      (err: unknown) => {
        // Not acknowledged: ClickDesk delivers it again. Readiness says why meanwhile.
        if (isStorageUnavailable(err)) storageHealth.failed(err);
        throw err;
      },
    );
  const linkSeats = opts.linkSeats ?? defaultLinkSeats(config.rate);
  const gateway = new ClickDeskGateway({
    ...config.rtm,
    seats: new FleetSeats({
      store: linkSeats,
      // One member per process: a restarted instance never inherits the seats of links that died with its predecessor.
      instanceId: randomUUID(),
      cap: config.rtm.appLinks ?? CONTRACT_APP_LINKS,
      want: config.rtm.connections,
      fallbackInstances: config.rate.fallbackInstances ?? 2,
      logger: logger.child({ part: 'link-seats' }),
    }),
    openConnection: (priority) => api.openConnection(priority),
    apiUrl: clickdesk.apiUrl,
    openBudget: async () => {
      const bucket = (await governor.snapshot()).find((b) => b.method === 'apps.connections.open');
      return bucket && { limit: bucket.limit, used: bucket.used, windowMs: bucket.windowSeconds * 1000 };
    },
    intake: tokens
      ? async (event) => {
          if (await tokens.has(event.teamId)) return recordAndSubmit(event);
          // A team that holds no installation: acknowledged (so it is not redelivered), not handled.
          metrics.installations.eventsDropped.inc({ reason: 'not_installed' });
          return 'duplicate';
        }
      : recordAndSubmit,
    logger: logger.child({ part: 'gateway' }),
    onFatal: (err) => opts.onFatal?.(err),
    observer: combineObservers(metrics.gatewayObserver(), opts.gatewayObserver),
  });

  // An echo settles its reply once handled: it can arrive only while a link delivers (or, holding
  // none by design, on another instance's), and is handled in time only while handling keeps up.
  const listening = new ListeningClock(
    () =>
      (gateway.deliverableConnections > 0 || noLinkByDesign(gateway)) && dispatcher.lagMs < HANDLING_LAG_MS,
  );

  const metricsRoute = { path: '/metrics', router: metricsRouter(metrics.registry, config.metricsToken) };
  const lifecycle =
    opts.lifecycle &&
    createAppLifecycle(opts.lifecycle, { logger, metrics, api, installs, tokens, onFatal: opts.onFatal });
  const dependencyInputs = () => ({
    gateway,
    storage: storageHealth.state,
    rateStore:
      rateStore instanceof FallbackRateStore
        ? {
            reachable: rateStore.sharedReachable,
            mode: rateStore.mode,
            instances: rateStore.fallbackInstances,
          }
        : undefined,
  });
  registerDependencyMetrics(metrics.registry, () => dependencyStates(dependencyInputs()));
  registerLinkMetrics(metrics.registry, () => gateway);
  const readinessNow: Readiness = () =>
    readinessReport(dependencyInputs(), {
      wantedLinks: config.rtm.connections,
      handlersPending: dispatcher.pending,
      deliveriesPending: sender.pending,
      rateQueue: governor.queueLength,
    });
  const http = createHttpApp({
    logger,
    trustProxy: config.httpServer.trustProxy,
    responses: metrics.http,
    readiness: readinessNow,
    routers: [
      ...(config.metricsPort === undefined ? [metricsRoute] : []),
      { path: '/', router: legalPagesRouter(config.operator) },
      ...(installations?.routes ?? []),
      ...(lifecycle?.routes ?? []),
    ],
  });
  const metricsHttp = createMetricsHttpApp({
    logger,
    router: metricsRoute.router,
    trustProxy: config.httpServer.trustProxy,
  });
  const probeHttp = createProbeHttpApp({ logger, readiness: readinessNow });
  let recovery: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const recover = (): void => {
    dispatcher
      .recover()
      .catch((err: unknown) =>
        logger.error({ err: describeError(err) }, 'replaying unhandled events failed'),
      );
  };
  const renewLeases = (): void => {
    Promise.all([inbox.renewLeases(), inbox.outbox.renewLeases()]).catch((err: unknown) =>
      logger.error({ err: describeError(err) }, 'renewing leases failed; retrying at next heartbeat'),
    );
  };

  return {
    http,
    metricsHttp,
    probeHttp,
    gateway,
    dispatcher,
    sender,
    api,
    governor,
    policy,
    metrics,
    worker: lifecycle?.worker,
    refresher: lifecycle?.refresher,
    tokens,
    async start() {
      tokens?.start();
      await dispatcher.recover();
      // Learn who the app is before the first webhook needs it; a webhook asks again if this fails.
      lifecycle?.identity.resolve().then(
        (me) => logger.info({ appId: me.appId, teamId: me.teamId }, 'identity confirmed by auth.test'),
        (err: unknown) => {
          if (isCodedError(err, 'CONFIG_INVALID')) opts.onFatal?.(err);
          else logger.warn({ err: describeError(err) }, 'auth.test failed; webhooks will ask again');
        },
      );
      sender.start();
      lifecycle?.start();
      // Leases last while this instance lives (heartbeat); events and effects of an instance that
      // died are taken over once its leases run out (the sender polls for effects itself).
      heartbeat = setInterval(renewLeases, opts.leases?.heartbeatMs ?? 5_000);
      heartbeat.unref();
      recovery = setInterval(recover, opts.leases?.recoverMs ?? 5_000);
      recovery.unref();
      storageHealth.start();
      gateway.start();
    },
    async stop() {
      clearInterval(recovery);
      const deadline = Date.now() + config.shutdownTimeoutMs;
      // The links go on delivering until other instances that want links have taken their seats
      // (a third of the stop's time at most, so the drain keeps the rest).
      await gateway.handOver(Math.min(HANDOVER_MAX_MS, config.shutdownTimeoutMs / 3));
      await gateway.pause(Math.max(0, deadline - Date.now()));
      // Events not started stay recorded and leased for the next start; running ones may finish.
      const drained = await dispatcher.stop(Math.max(0, deadline - Date.now()));
      if (!drained) {
        // Storage closes next: what still runs gives up at its next step and is replayed later.
        dispatcher.abandonRunning();
        logger.warn(
          { pending: dispatcher.pending },
          'shutdown deadline passed with handlers still running; left for replay',
        );
      }
      // Committed effects not yet delivered stay in the outbox for the next start (or another instance).
      const delivered = await sender.stop(Math.max(0, deadline - Date.now()));
      clearInterval(heartbeat);
      // Hand what is left to the other instances at once instead of after the lease; not while a
      // handler or a send is still running (it would race the new holder; its lease runs out instead).
      if (drained && delivered) {
        await Promise.all([inbox.releaseLeases(), inbox.outbox.releaseLeases()]).catch((err: unknown) =>
          logger.warn({ err: describeError(err) }, 'could not release leases; they run out instead'),
        );
      }
      storageHealth.stop();
      listening.stop();
      governor.close();
      await gateway.close();
      await lifecycle?.stop();
      await tokens?.stop();
      if (!opts.rateStore) await rateStore.close();
      if (!opts.linkSeats) await linkSeats.close();
      return { drained };
    },
  };
}
