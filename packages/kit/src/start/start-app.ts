import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createBotApp, type BotApp, type ClickDeskCredentials } from '../app';
import { checkStartMode } from '../config/check-start-mode';
import { ConfigError, loadConfig, type AppConfig, type Env } from '../config/load-config';
import { CodedError, describeError } from '../errors';
import { listenHardened } from '../http/listen-hardened';
import { createLogger } from '../logging/create-logger';
import { ReceiptSigner } from '../lifecycle/receipt-signer';
import { checkSharedSigningKey } from '../lifecycle/shared-signing-key';
import { AppMetrics } from '../metrics/app-metrics';
import { MemoryRateStore } from '../rate-limit/memory-rate-store';
import { loadSandbox, type SandboxModule, type SandboxSimulator } from '../sandbox-mode/sandbox-seam';
import { wireSandboxInstalls } from '../sandbox-mode/sandbox-installs';
import { loadSodium } from '../storage/crypto/sodium';
import { openStorage, storageOptionsFrom } from '../storage/open-storage';
import { describeDatabase, waitForStorage } from '../storage/wait-for-storage';
import { storageProbe } from '../storage/sql/storage-probe';
import { loadBotSettings } from './bot-settings';
import { asChatHandler, type BotDefinition, type BotSettingsSchema } from './define-bot';

export interface StartAppOptions {
  /** Where settings come from; defaults to `process.env`. */
  env?: Env;
  /** `npm start`: with no ClickDesk credentials, run the bundled simulator (never in production). */
  sandboxIfUnconfigured?: boolean;
  /** Sandbox mode: erase the sandbox team through the normal erasure path and reinstall it. */
  reset?: boolean;
  /** Sandbox mode: this simulator instead of a new one (the test kit's, with its own timings). */
  simulator?: SandboxSimulator;
  logger?: Logger;
  /** ClickDesk refused the app for good; defaults to logging it. */
  onFatal?: (err: CodedError) => void;
}

export interface RunningApp {
  readonly app: BotApp;
  readonly config: AppConfig;
  /** The app's own HTTP base URL (health, install flow, webhooks). */
  readonly url: string;
  /** HEALTH_PORT's base URL (/healthz, /readyz), when it is set. */
  readonly healthUrl: string | undefined;
  /** The simulator, in sandbox mode. */
  readonly sandbox: SandboxSimulator | undefined;
  readonly logger: Logger;
  /** Graceful: intake stops, handlers finish within SHUTDOWN_TIMEOUT_MS, then storage closes. */
  stop(): Promise<{ drained: boolean }>;
}

/**
 * The composition root every fork shares: reads the configuration and the bot's settings,
 * starts the simulator in sandbox mode, opens storage, wires the app around the bot, listens,
 * installs the sandbox team through the real install flow, and starts intake.
 */
export async function startApp<S extends BotSettingsSchema>(
  bot: BotDefinition<S>,
  options: StartAppOptions = {},
): Promise<RunningApp> {
  const env = options.env ?? process.env;
  // The app's settings and the bot's are checked together: one failed start names every problem.
  const problems: ConfigError[] = [];
  const checked = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err);
      return undefined;
    }
  };
  const config = checked(() => loadConfig(env));
  const settings = checked(() => loadBotSettings(bot, env));
  if (config === undefined || settings === undefined) throw ConfigError.merge(problems);
  checkStartMode(config, { sandboxIfUnconfigured: options.sandboxIfUnconfigured === true });
  const logger = options.logger ?? createLogger(config.logLevel);
  const reset = options.reset === true;
  if (reset && config.mode !== 'sandbox')
    throw new CodedError(
      'CONFIG_INVALID',
      '--reset erases and reinstalls the sandbox team, so it works only in sandbox mode (no CLICKDESK_* credentials set).',
    );

  let sandbox: SandboxSimulator | undefined;
  let sandboxModule: SandboxModule | undefined;
  let credentials: ClickDeskCredentials;
  let webhookSecrets = config.lifecycle.webhookSecrets;
  // Installations (§4): in sandbox mode the simulator's registration, with this run's secret.
  let oauth = config.oauth.clientId
    ? { clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret ?? '' }
    : undefined;
  let publicUrl = config.oauth.publicUrl ?? '';
  if (config.mode === 'sandbox') {
    sandboxModule = loadSandbox();
    // The simulator signs with a secret it makes for this run, never the operator's WEBHOOK_SECRETS
    // (it would sign anything with them); the app trusts that secret only in sandbox mode.
    sandbox =
      options.simulator ??
      new sandboxModule.Simulator({
        webhook: { url: undefined, secrets: [], retries: 5, timeoutMs: 5_000, retryBaseMs: 1_000 },
        oauth: {
          clientId: 'sandbox-client-id',
          clientSecret: randomBytes(24).toString('base64url'),
          redirectUris: [], // the app's callback, once it listens
          codeTtlMs: 10 * 60_000,
          accessTokenTtlMs: 12 * 60 * 60_000,
          refreshReuseMs: 60_000,
        },
      });
    oauth = { clientId: sandbox.options.oauth.clientId, clientSecret: sandbox.options.oauth.clientSecret };
    webhookSecrets = sandbox.webhookSecrets;
    if (config.lifecycle.webhookSecrets.length > 0)
      logger.warn('sandbox mode: WEBHOOK_SECRETS is not used; the simulator signs with a secret of its own');
    if (!options.simulator)
      await explainPortInUse(
        'SANDBOX_PORT',
        config.sandbox.port,
        sandbox.listen(config.sandbox.port, config.sandbox.host),
      );
    // No static bot token: the sandbox team installs the app through the real flow below.
    credentials = { apiUrl: sandbox.apiUrl, appToken: sandbox.options.appToken };
    logger.info(
      { simulator: sandbox.url },
      'sandbox mode: no ClickDesk credentials set, running the bundled simulator',
    );
  } else {
    const { apiUrl, appToken, botToken } = config.clickdesk;
    if (!apiUrl || !appToken || (!botToken && !oauth))
      throw new Error('live mode without credentials: config validation let this through');
    credentials = { apiUrl, appToken, botToken };
  }

  const metrics = new AppMetrics();
  // A database that is not up yet (or restarting) is waited for, within STORAGE_CONNECT_TIMEOUT_MS.
  const storage = await waitForStorage(
    () =>
      openStorage({
        ...storageOptionsFrom(config),
        observer: metrics.cryptoObserver(),
        logger: logger.child({ part: 'storage' }),
      }),
    {
      timeoutMs: config.storage.connectTimeoutMs,
      what: describeDatabase(config.storage.kind, config.storage.databaseUrl),
      logger,
    },
  ).catch(async (err: unknown) => {
    if (!options.simulator) await sandbox?.close().catch(() => undefined);
    throw err;
  });
  if (config.mode === 'live' && (!config.operator.name || !config.operator.contact))
    logger.warn(
      { code: 'LEGAL_PAGES_INCOMPLETE' },
      '/privacy and /terms still show placeholders: set OPERATOR_NAME and OPERATOR_CONTACT (Terms 7)',
    );
  logger.info(
    { storage: storage.kind, dataDir: storage.kind === 'sqlite' ? config.storage.dataDir : undefined },
    'storage open',
  );
  const servers: Server[] = [];
  let stopping: Promise<{ drained: boolean }> | undefined;
  try {
    const botEgress = (bot.egress?.(settings) ?? []).map((origin) => {
      if (URL.canParse(origin) && /^https?:$/.test(new URL(origin).protocol)) return origin;
      throw new CodedError(
        'CONFIG_INVALID',
        `The bot's egress names "${origin}", which is not an http(s) URL: return the URLs of its services (e.g. from its settings).`,
      );
    });
    const handler = asChatHandler(
      await bot.create({ settings, logger: logger.child({ part: 'bot', bot: bot.name }) }),
    );
    const signer = storage.sql
      ? ReceiptSigner.fromFile(await loadSodium(), config.lifecycle.receiptSigningKeyFile)
      : undefined;
    if (storage.sql && signer)
      logger.info(
        {
          receiptSigningKey: await checkSharedSigningKey(
            storage.sql.db,
            signer.publicKey,
            config.lifecycle.receiptSigningKeyFile,
          ),
        },
        'receipt signing key shared with every instance on this database',
      );
    const app = createBotApp({
      config,
      clickdesk: credentials,
      logger,
      metrics,
      handler,
      // The in-process simulator starts with this process: no earlier call can have spent its buckets.
      rateStore:
        sandbox && !config.rate.redisUrl ? new MemoryRateStore(undefined, { freshStart: true }) : undefined,
      botEgress,
      fallbackText: bot.fallbackText,
      inbox: storage.inbox,
      storageProbe: storage.sql && storageProbe(storage.sql.db),
      conversations: storage.conversations,
      messages: storage.messages,
      profiles: storage.profiles,
      installations: oauth && {
        store: storage.installations,
        usedStates: storage.usedStates,
        ...oauth,
        publicUrl: () => publicUrl,
      },
      lifecycle: storage.sql &&
        signer && {
          sql: storage.sql,
          signer,
          webhookSecrets,
          adminToken: config.lifecycle.adminToken,
          // The simulator's app id is its own; CLICKDESK_APP_ID names the live app.
          appId: sandbox ? undefined : config.clickdesk.appId,
          freshness: {
            intervalMs: config.lifecycle.freshnessCheckIntervalMs,
            retentionMs: config.lifecycle.messageRetentionDays * 24 * 60 * 60 * 1000,
          },
          masterKeyMaxAgeDays: config.storage.masterKeyMaxAgeDays,
        },
      onFatal:
        options.onFatal ?? ((err) => logger.fatal({ err: describeError(err) }, 'ClickDesk refused the app')),
    });
    const handlerOrigins = [
      ...new Set([...config.egressAllowedOrigins, ...botEgress].map((o) => new URL(o).origin)),
    ];
    logger.info(
      { origins: handlerOrigins },
      handlerOrigins.length > 0
        ? "the bot's ctx.fetch may reach these origins"
        : "the bot's ctx.fetch reaches no origin (declare its services in defineBot({ egress }))",
    );
    const server = await explainPortInUse(
      'HTTP_PORT',
      config.http.port,
      listenHardened(app.http, config.http.port, config.http.host, config.httpServer),
    );
    servers.push(server);
    if (config.metricsPort !== undefined)
      servers.push(
        await explainPortInUse(
          'METRICS_PORT',
          config.metricsPort,
          listenHardened(app.metricsHttp, config.metricsPort, config.http.host, config.httpServer),
        ),
      );
    if (config.healthPort !== undefined)
      servers.push(
        await explainPortInUse(
          'HEALTH_PORT',
          config.healthPort,
          listenHardened(app.probeHttp, config.healthPort, config.http.host, config.httpServer),
        ),
      );
    const url = `http://${config.http.host}:${(server.address() as AddressInfo).port}`;
    if (sandbox && sandboxModule) {
      // The app's callback is known now: register it, and install the sandbox team before intake starts.
      publicUrl = url;
      sandbox.options.oauth.redirectUris.push(`${url}/oauth/callback`);
      await wireSandboxInstalls({ sandbox, app, storage, logger });
      // Every start is a first start for the in-memory simulator: its team installs the app the
      // real way (unless it uninstalled it: then a reset, which walks the same flow, brings it back).
      if (sandbox.installs.isInstalled(sandbox.team.id) && !reset) {
        const installed = await sandboxModule.installThroughConsent(url, sandbox.team.id);
        if (installed.status !== 200)
          throw new Error(`installing the sandbox team failed (${installed.status})`);
        logger.info({ teamId: sandbox.team.id }, 'sandbox team installed through the install flow');
      }
    }
    await app.start();
    const metricsServer = config.metricsPort === undefined ? undefined : servers[1];
    const healthServer = config.healthPort === undefined ? undefined : servers.at(-1);
    const healthUrl =
      healthServer && `http://${config.http.host}:${(healthServer.address() as AddressInfo).port}`;
    logger.info(
      {
        http: url,
        metrics:
          metricsServer &&
          `http://${config.http.host}:${(metricsServer.address() as AddressInfo).port}/metrics`,
        health: healthUrl,
        mode: config.mode,
        bot: bot.name,
      },
      'app started',
    );
    if (sandbox && sandboxModule) {
      sandbox.options.webhook.url = `${url}/webhooks/clickdesk`;
      sandbox.options.appUrl = url;
      if (reset) {
        const report = await sandboxModule.resetTeam(sandbox as never);
        logger.info(
          { teamId: report.team_id, app: report.app },
          'sandbox reset (--reset): team erased and reinstalled',
        );
      }
    }
    const stop = (): Promise<{ drained: boolean }> =>
      (stopping ??= (async () => {
        logger.info('shutting down: stopping intake, finishing handlers');
        const { drained } = await app.stop();
        await closeServers(servers);
        await storage.close();
        if (!options.simulator) await sandbox?.close();
        logger.info({ drained }, 'stopped');
        return { drained };
      })());
    return { app, config, url, healthUrl, sandbox, logger, stop };
  } catch (err) {
    // Start-up failed half-way: release what is open so the process can exit (or the test go on).
    await closeServers(servers);
    await storage.close().catch(() => undefined);
    if (!options.simulator) await sandbox?.close().catch(() => undefined);
    throw err;
  }
}

async function closeServers(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers.map((s) => {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      return closed;
    }),
  );
}

/** "Address in use" as a message naming the variable that chose the port, and the fix. */
async function explainPortInUse<T>(
  variable: string,
  port: number | undefined,
  listening: Promise<T>,
): Promise<T> {
  try {
    return await listening;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new CodedError(
      'PORT_IN_USE',
      `${variable}=${port} is already in use by another process. Stop that process (an earlier npm start?), or set ${variable} to a free port in the environment or .env (0 picks any free port).`,
      { cause: err },
    );
  }
}
