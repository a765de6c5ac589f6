import type express from 'express';
import type { LifecycleWiring, InstallationWiring } from './app-options';
import type { ClickDeskWebApi } from './clickdesk/web-api-client';
import { CodedError, describeError } from './errors';
import { adminRouter } from './http/admin-router';
import { lifecycleWebhookRouter } from './http/lifecycle-webhook-router';
import type { TokenRotator } from './installations/token-rotator';
import { AppIdentity, storageHoldsTeam } from './lifecycle/app-identity';
import { ErasureWorker } from './lifecycle/erasure-worker';
import { FreshnessRefresher } from './lifecycle/freshness-refresher';
import { keyAgeSnapshot } from './lifecycle/key-age';
import { LifecycleJobs } from './lifecycle/lifecycle-jobs';
import { oldestConfirmation } from './lifecycle/oldest-confirmation';
import type { AppMetrics } from './metrics/app-metrics';
import type { Logger } from 'pino';

export interface AppLifecycleDeps {
  logger: Logger;
  metrics: AppMetrics;
  api: ClickDeskWebApi;
  installs: InstallationWiring | undefined;
  tokens: TokenRotator | undefined;
  onFatal: ((err: CodedError) => void) | undefined;
}

/** The app's Data lifecycle: deletion webhooks, the erasure worker, freshness, its identity. */
export interface AppLifecycle {
  readonly worker: ErasureWorker;
  readonly refresher: FreshnessRefresher;
  readonly identity: AppIdentity;
  /** `/webhooks/clickdesk` and `/admin`. */
  readonly routes: Array<{ path: string; router: express.Router }>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Wires what the terms ask of stored Data (Terms 6.1 freshness, 6.4–6.5 deletion, 12.4
 * termination) from the SQL storage: the webhooks that queue jobs, the worker that runs them,
 * and the gauges an operator watches.
 */
export function createAppLifecycle(wiring: LifecycleWiring, deps: AppLifecycleDeps): AppLifecycle {
  const { logger, metrics, api, installs, tokens } = deps;
  const { sql, signer, webhookSecrets, adminToken } = wiring;
  const jobs = new LifecycleJobs(sql.db, sql.ctx.now);
  const worker = new ErasureWorker({
    ...sql,
    jobs,
    signer,
    now: sql.ctx.now,
    logger: logger.child({ part: 'lifecycle' }),
    ...wiring.worker,
    onFinished: (job, seconds) => {
      metrics.lifecycleJobSeconds.observe({ event: job.type }, seconds);
      // The team's installation was shredded with its Data: stop using a cached token at once.
      if (job.scope.kind === 'team') tokens?.forget(job.scope.teamId);
    },
    onTerminated: () => {
      deps.onFatal?.(
        new CodedError(
          'CLICKDESK_TERMINATED',
          'ClickDesk terminated API access; all Data was erased (receipt issued). Stopping.',
        ),
      );
    },
  });
  const refresher = new FreshnessRefresher({
    ctx: sql.ctx,
    api,
    jobs,
    logger: logger.child({ part: 'freshness' }),
    retentionMs: wiring.freshness.retentionMs,
    onDropped: (reason, count) => metrics.freshnessDropped.inc({ reason }, count),
    onJob: () => worker.kick(),
  });
  const identity = new AppIdentity({
    configuredAppId: wiring.appId,
    // The token's team is not known before this answer; its one call is counted under "self".
    // With installations, any installed team's token tells which app this is.
    whoAmI: async () => {
      const teamId = installs ? (await installs.store.list())[0]?.teamId : 'self';
      if (teamId === undefined)
        throw new CodedError(
          'INSTALLATION_MISSING',
          'no team has installed the app yet: its identity is not known',
        );
      const me = await api.call<{ app_id: string; team_id: string }>(
        'auth.test',
        {},
        { kind: 'bot', teamId },
      );
      return { appId: me.app_id, teamId: me.team_id };
    },
    // The teams held: those with an installation, and any of which storage keeps something.
    holdsTeam: async (teamId) =>
      (installs !== undefined && (await installs.store.get(teamId)) !== undefined) ||
      (await storageHoldsTeam(sql.db)(teamId)),
  });
  const routes = [
    {
      path: '/webhooks/clickdesk',
      router: lifecycleWebhookRouter({
        secrets: webhookSecrets,
        addressee: identity,
        onIgnored: (reason) => metrics.webhooksIgnored.inc({ reason }),
        jobs,
        refOf: (teamId, kind, id) => sql.ctx.subjectRef(teamId, { kind, id }),
        onJob: () => worker.kick(),
        logger: logger.child({ part: 'webhooks' }),
      }),
    },
    { path: '/admin', router: adminRouter(sql.ctx, adminToken) },
  ];
  const maxAgeDays = wiring.masterKeyMaxAgeDays ?? 90;
  metrics.bindKeys(() => keyAgeSnapshot(sql.db, sql.keys.currentMasterKeyId, maxAgeDays, sql.ctx.now()));
  metrics.bindLifecycle(async () => {
    const now = sql.ctx.now();
    const { pending, oldestCreatedAt } = await jobs.pendingCount();
    const oldest = await oldestConfirmation(sql.db);
    return {
      pending,
      oldestPendingAgeSeconds: oldestCreatedAt === undefined ? 0 : (now - oldestCreatedAt) / 1000,
      oldestConfirmationAgeSeconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
    };
  });

  let freshnessTimer: NodeJS.Timeout | undefined;
  return {
    worker,
    refresher,
    identity,
    routes,
    start() {
      worker.start();
      freshnessTimer = setInterval(() => {
        refresher
          .runOnce()
          .catch((err: unknown) => logger.error({ err: describeError(err) }, 'freshness pass failed'));
      }, wiring.freshness.intervalMs);
      freshnessTimer.unref();
    },
    async stop() {
      clearInterval(freshnessTimer);
      await worker.stop();
    },
  };
}
