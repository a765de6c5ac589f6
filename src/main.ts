import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createBotApp, type ClickDeskCredentials } from './app';
import { loadConfig } from './config/load-config';
import { describeError, isCodedError, type ErrorCode } from './errors';
import { createLogger } from './logging/create-logger';
import { AppMetrics } from './metrics/app-metrics';
import { Simulator } from './sandbox/simulator';
import { openStorage, storageOptionsFrom } from './storage/open-storage';
import { ReceiptSigner } from './lifecycle/receipt-signer';
import { loadSodium } from './storage/crypto/sodium';
import { installThroughConsent } from './sandbox/install-through-consent';

/** The composition root: reads config, starts the sandbox if asked, wires and runs the app. */
async function main(): Promise<void> {
  // A .env file in the working directory is read if present; the environment wins over it.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

  let sandbox: Simulator | undefined;
  let credentials: ClickDeskCredentials;
  let webhookSecrets = config.lifecycle.webhookSecrets;
  // Installations (§4): in sandbox mode the simulator's registration, with this run's secret.
  let oauth = config.oauth.clientId
    ? { clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret ?? '' }
    : undefined;
  let publicUrl = config.oauth.publicUrl ?? '';
  if (config.mode === 'sandbox') {
    // The bundled simulator signs its lifecycle webhooks with a secret made for this run.
    if (webhookSecrets.length === 0) webhookSecrets = [`whsec_${randomBytes(24).toString('base64')}`];
    sandbox = new Simulator({
      webhook: {
        url: undefined,
        secrets: [...webhookSecrets],
        retries: 5,
        timeoutMs: 5_000,
        retryBaseMs: 1_000,
      },
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
    await sandbox.listen(config.sandbox.port, config.sandbox.host);
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
  const storage = await openStorage({ ...storageOptionsFrom(config), observer: metrics.cryptoObserver() });
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
      freshness: {
        intervalMs: config.lifecycle.freshnessCheckIntervalMs,
        retentionMs: config.lifecycle.messageRetentionDays * 24 * 60 * 60 * 1000,
      },
    },
    onFatal: (err) => {
      logger.fatal({ err: describeError(err) }, 'ClickDesk refused the app; shutting down');
      void shutdown(1);
    },
  });
  const server = app.http.listen(config.http.port, config.http.host);
  await once(server, 'listening');
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : app.metricsHttp.listen(config.metricsPort, config.http.host);
  if (metricsServer) await once(metricsServer, 'listening');
  const { port } = server.address() as AddressInfo;
  await app.start();
  logger.info({ http: `http://${config.http.host}:${port}`, mode: config.mode }, 'app started');
  if (sandbox) {
    const appUrl = `http://${config.http.host}:${port}`;
    sandbox.options.webhook.url = `${appUrl}/webhooks/clickdesk`;
    sandbox.options.appUrl = appUrl;
    publicUrl = appUrl;
    sandbox.options.oauth.redirectUris.push(`${appUrl}/oauth/callback`);
    // Every start is a first start for the in-memory simulator: install its team the real way.
    const installed = await installThroughConsent(appUrl, sandbox.team.id);
    if (installed.status !== 200) throw new Error(`installing the sandbox team failed (${installed.status})`);
    logger.info({ teamId: sandbox.team.id }, 'sandbox team installed through the install flow');
    process.stdout.write(
      `  Add another team: POST ${sandbox.url}/sandbox/teams {"name":"…"}, then ${appUrl}/install\n`,
    );
    process.stdout.write(`\n  Chat with your bot as a visitor: ${sandbox.url}/visitor/\n\n`);
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
];

main().catch((err: unknown) => {
  if (isCodedError(err) && EXPLAINED.includes(err.code)) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Start-up failed: ${describeError(err).message}\n`);
  }
  process.exit(1);
});
