import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { createBotApp, type BotApp, type ClickDeskCredentials } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import type { ChatHandler } from '../src/core/chat-handler';
import { ReceiptSigner } from '../src/lifecycle/receipt-signer';
import { silentLogger } from '../src/logging/create-logger';
import { loadSodium } from '../src/storage/crypto/sodium';
import type { Storage } from '../src/storage/open-storage';

export interface BenchApp {
  app: BotApp;
  /** Base URL of the app's HTTP surface (health, /metrics). */
  url: string;
  stop(): Promise<void>;
}

/**
 * The app as `npm start` wires it on SQL storage: durable inbox, encrypted stores, the data
 * lifecycle (erasure worker, freshness refresher, their gauges), listening on a loopback port.
 */
export async function startBenchApp(opts: {
  storage: Storage;
  dataDir: string;
  credentials: ClickDeskCredentials;
  handler: ChatHandler;
  connections: number;
  /** Start the RTM links (false: only the HTTP surface, e.g. to scrape a seeded database). */
  connect: boolean;
}): Promise<BenchApp> {
  const { storage } = opts;
  const config = loadConfig({});
  const app = createBotApp({
    config: { ...config, rtm: { ...config.rtm, connections: opts.connections } },
    clickdesk: opts.credentials,
    logger: silentLogger(),
    handler: opts.handler,
    inbox: storage.inbox,
    conversations: storage.conversations,
    messages: storage.messages,
    profiles: storage.profiles,
    lifecycle: storage.sql && {
      sql: storage.sql,
      signer: ReceiptSigner.fromFile(await loadSodium(), path.join(opts.dataDir, 'receipt.key')),
      webhookSecrets: [],
      adminToken: undefined,
      freshness: {
        intervalMs: config.lifecycle.freshnessCheckIntervalMs,
        retentionMs: config.lifecycle.messageRetentionDays * 24 * 3_600_000,
      },
    },
  });
  const server: Server = app.http.listen(0, '127.0.0.1');
  await once(server, 'listening');
  if (opts.connect) {
    await app.start();
    while (app.gateway.openConnections < opts.connections) await new Promise((r) => setTimeout(r, 5));
  }
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      if (opts.connect) await app.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Scrapes `/metrics` once over HTTP, on a connection of its own (a kept-alive one can be closed
 * by the server while the loop is busy elsewhere); resolves with the milliseconds it took.
 */
export function scrapeOnce(url: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/metrics`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200 || !text.includes('clickdesk_data_oldest_confirmation_age_seconds'))
            reject(new Error(`/metrics answered ${res.statusCode} without the freshness gauge`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * Event-loop delay, sampled every millisecond: each value is the time between two samples, so
 * the 1 ms interval itself is included (a conservative bound).
 */
export function eventLoopDelay(): IntervalHistogram & { ms(p: number): number } {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return Object.assign(h, { ms: (p: number) => (p >= 100 ? h.max : h.percentile(p)) / 1e6 });
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
