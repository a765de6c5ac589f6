import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createBotApp, type ClickDeskCredentials } from './app';
import { checkStartMode } from './config/check-start-mode';
import { loadConfig } from './config/load-config';
import { CodedError, describeError, isCodedError, type ErrorCode } from './errors';
import { listenHardened } from './http/listen-hardened';
import { createLogger } from './logging/create-logger';
import { AppMetrics } from './metrics/app-metrics';
import { resetTeam } from './sandbox/reset-team';
import { Simulator } from './sandbox/simulator';
import { wireSandboxInstalls } from './sandbox-installs';
import { openStorage, storageOptionsFrom } from './storage/open-storage';
import { ReceiptSigner } from './lifecycle/receipt-signer';
import { loadSodium } from './storage/crypto/sodium';
import { installThroughConsent } from './sandbox/install-through-consent';

/** The composition root: reads config, starts the sandbox if asked, wires and runs the app. */
async function main(): Promise<void> {
  // A .env file in the working directory is read if present; the environment wins over it.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  // `npm start` passes this flag; `start:built` and production never start the simulator unasked.
  checkStartMode(config, { sandboxIfUnconfigured: process.argv.includes('--sandbox-if-unconfigured') });
  const logger = createLogger(config.logLevel);
  // `npm start -- --reset`: erase the sandbox team through the normal erasure path and reinstall it.
  const reset = process.argv.slice(2).includes('--reset');
  if (reset && config.mode !== 'sandbox')
    throw new CodedError(
      'CONFIG_INVALID',
      '--reset erases and reinstalls the sandbox team, so it works only in sandbox mode (no CLICKDESK_* credentials set).',
    );

  let sandbox: Simulator | undefined;
  let credentials: ClickDeskCredentials;
  let webhookSecrets = config.lifecycle.webhookSecrets;
  // Installations (§4): in sandbox mode the simulator's registration, with this run's secret.
  let oauth = config.oauth.clientId
    ? { clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret ?? '' }
    : undefined;
  let publicUrl = config.oauth.publicUrl ?? '';
  if (config.mode === 'sandbox') {
    // The simulator signs with a secret it makes for this run, never the operator's WEBHOOK_SECRETS
    // (it would sign anything with them); the app trusts that secret only in sandbox mode.
    sandbox = new Simulator({
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
  const storage = await openStorage({
    ...storageOptionsFrom(config),
    observer: metrics.cryptoObserver(),
    logger: logger.child({ part: 'storage' }),
  });
  logger.info(
    { storage: storage.kind, dataDir: storage.kind === 'sqlite' ? config.storage.dataDir : undefined },
    'storage open',
  );

  let stopping: Promise<void> | undefined;
  const app = createBotApp({
    config,
    clickdesk: credentials,
    logger,
    metrics,
    inbox: storage.inbox,
    conversations: storage.conversations,
    messages: storage.messages,
    profiles: storage.profiles,
    installations: oauth && {
      store: storage.installations,
      usedStates: storage.usedStates,
      ...oauth,
      publicUrl: () => publicUrl,
    },
    lifecycle: storage.sql && {
      sql: storage.sql,
      signer: ReceiptSigner.fromFile(await loadSodium(), config.lifecycle.receiptSigningKeyFile),
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
    onFatal: (err) => {
      logger.fatal({ err: describeError(err) }, 'ClickDesk refused the app; shutting down');
      void shutdown(1);
    },
  });
  const server = await explainPortInUse(
    'HTTP_PORT',
    config.http.port,
    listenHardened(app.http, config.http.port, config.http.host, config.httpServer),
  );
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await explainPortInUse(
          'METRICS_PORT',
          config.metricsPort,
          listenHardened(app.metricsHttp, config.metricsPort, config.http.host, config.httpServer),
        );
  const { port } = server.address() as AddressInfo;
  if (sandbox) {
    // The app's callback is known now: register it, and install the sandbox team before intake starts.
    publicUrl = `http://${config.http.host}:${port}`;
    sandbox.options.oauth.redirectUris.push(`${publicUrl}/oauth/callback`);
    const appUrl = publicUrl;
    await wireSandboxInstalls({ sandbox, app, storage, logger });
    // Every start is a first start for the in-memory simulator: its team installs the app the
    // real way (unless it uninstalled it: then a reset, which walks the same flow, brings it back).
    if (sandbox.installs.isInstalled(sandbox.team.id) && !reset) {
      const installed = await installThroughConsent(appUrl, sandbox.team.id);
      if (installed.status !== 200)
        throw new Error(`installing the sandbox team failed (${installed.status})`);
      logger.info({ teamId: sandbox.team.id }, 'sandbox team installed through the install flow');
    }
  }
  await app.start();
  const metricsUrl =
    metricsServer && `http://${config.http.host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  logger.info(
    { http: `http://${config.http.host}:${port}`, metrics: metricsUrl, mode: config.mode },
    'app started',
  );
  if (sandbox) {
    const appUrl = `http://${config.http.host}:${port}`;
    sandbox.options.webhook.url = `${appUrl}/webhooks/clickdesk`;
    sandbox.options.appUrl = appUrl;
    process.stdout.write(
      `  Add another team: POST ${sandbox.url}/sandbox/teams {"name":"…"}, then ${appUrl}/install\n`,
    );
    process.stdout.write(`\n  Chat with your bot as a visitor: ${sandbox.url}/visitor/\n\n`);
    if (reset) {
      const report = await resetTeam(sandbox);
      logger.info(
        { teamId: report.team_id, app: report.app },
        'sandbox reset (--reset): team erased and reinstalled',
      );
    }
  }

  function shutdown(code: number): Promise<void> {
    stopping ??= (async () => {
      logger.info('shutting down: stopping intake, finishing handlers');
      const { drained } = await app.stop();
      for (const s of [server, metricsServer]) {
        if (!s) continue;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeAllConnections();
        await closed;
      }
      await storage.close();
      await sandbox?.close();
      logger.info({ drained }, 'stopped');
      process.exitCode = code;
    })();
    return stopping;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn('second signal: exiting now');
        process.exit(130);
      }
      void shutdown(0);
    });
  }
}

/** Start-up errors whose message already says what to fix. */
const EXPLAINED: ErrorCode[] = [
  'CLICKDESK_TERMINATED',
  'CONFIG_INVALID',
  'FAQ_INVALID',
  'MASTER_KEY_MISSING',
  'MASTER_KEY_INVALID',
  'MASTER_KEY_UNKNOWN',
  'PORT_IN_USE',
];

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

main().catch((err: unknown) => {
  if (isCodedError(err) && EXPLAINED.includes(err.code)) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Start-up failed: ${describeError(err).message}\n`);
  }
  process.exit(1);
});
