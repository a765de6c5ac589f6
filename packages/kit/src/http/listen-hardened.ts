import { once } from 'node:events';
import type { Server } from 'node:http';
import type express from 'express';

export interface ServerLimits {
  /** A client must send all request headers within this (slow-header attacks). */
  readonly headersTimeoutMs: number;
  /** A client must send the whole request within this (slow-body attacks). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once instead of queued (Terms 8.1). */
  readonly maxConnections: number;
}

/**
 * Every server the app listens with goes through here, so none runs on Node's defaults
 * (5 min request timeout, no connection cap). Returns once the server is listening.
 */
export async function listenHardened(
  app: express.Express,
  port: number,
  host: string,
  limits: ServerLimits,
): Promise<Server> {
  const server = app.listen(port, host);
  // Set before 'listening', when Node reads them.
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  // How often Node looks for requests past their timeouts; its 30 s default would let a slow
  // client hold a connection that long whatever the timeouts say.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1_000, limits.headersTimeoutMs / 4),
  );
  await once(server, 'listening');
  return server;
}
