import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { BotApp } from '../../src/app';
import type { CodedError } from '../../src/errors';
import { ReceiptSigner } from '../../src/lifecycle/receipt-signer';
import { loadSodium } from '../../src/storage/crypto/sodium';
import type { Storage, StorageOptions } from '../../src/storage/open-storage';
import { Simulator } from '@clickdesk-bot/sandbox';
import type { SimulatorOptions } from '@clickdesk-bot/sandbox';
import type { LifecycleWiring } from '../../src/app-options';
import type { ChatHandler } from '../../src/core/chat-handler';
import type { Logger } from '../../src/logging/create-logger';
import { connectApp, FAST_SIMULATOR } from './sandbox-pair';
import { storageFixture, type StorageFixture } from './storage-fixtures';

export const WEBHOOK_SECRET = `whsec_${Buffer.from('lifecycle-test-secret-0123456789').toString('base64')}`;

export interface LifecyclePair {
  fx: StorageFixture;
  storage: Storage;
  sim: Simulator;
  app: BotApp;
  signer: ReceiptSigner;
  webhookUrl: string;
  fatal: CodedError[];
  stop(): Promise<void>;
}

/** A simulator that sends real signed webhooks to an app with durable storage, listening on port 0. */
export async function startLifecyclePair(
  kind: 'sqlite' | 'postgres',
  options: {
    batchSize?: number;
    now?: () => number;
    handler?: ChatHandler;
    /** The app's logger (silent unless a test reads the log). */
    logger?: Logger;
    simulator?: Partial<SimulatorOptions>;
    /** Extra storage options (observer, logger). */
    storage?: Partial<StorageOptions>;
    /** The erasure worker's options beyond the batch size (its lease, a hook after each batch). */
    worker?: LifecycleWiring['worker'];
    /** PostgreSQL: a server of the test's own instead of TEST_DATABASE_URL. */
    databaseUrl?: string;
  } = {},
): Promise<LifecyclePair> {
  const fx = await storageFixture(kind, options.databaseUrl);
  const storage = await fx.open({ ...(options.now ? { now: options.now } : {}), ...options.storage });
  const sim = new Simulator({
    ...FAST_SIMULATOR,
    agentJoinDelayMs: -1,
    webhook: { url: undefined, secrets: [WEBHOOK_SECRET], retries: 2, timeoutMs: 5_000, retryBaseMs: 10 },
    ...options.simulator,
  });
  await sim.listen(0);
  const signer = ReceiptSigner.fromFile(await loadSodium(), path.join(fx.dataDir, 'receipt-signing.key'));
  const fatal: CodedError[] = [];
  const { app } = await connectApp(sim, {
    handler: options.handler,
    app: {
      ...(options.logger ? { logger: options.logger } : {}),
      inbox: storage.inbox,
      conversations: storage.conversations,
      messages: storage.messages,
      profiles: storage.profiles,
      onFatal: (e) => fatal.push(e),
      lifecycle: {
        sql: storage.sql!,
        signer,
        webhookSecrets: [WEBHOOK_SECRET],
        adminToken: 'an-admin-token-of-enough-length',
        worker: { pollMs: 50, batchSize: options.batchSize ?? 500, ...options.worker },
        freshness: { intervalMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 },
      },
    },
  });
  const server: Server = app.http.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/clickdesk`;
  sim.options.webhook.url = webhookUrl;
  return {
    fx,
    storage,
    sim,
    app,
    signer,
    webhookUrl,
    fatal,
    async stop() {
      await app.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await sim.close();
      await storage.close();
      await fx.cleanup();
    },
  };
}
