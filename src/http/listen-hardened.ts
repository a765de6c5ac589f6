import { once } from 'node:events';
import http from 'node:http';

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
  handler: http.RequestListener,
  port: number,
  host: string,
  limits: ServerLimits,
): Promise<http.Server> {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node looks for requests past their timeouts; its 30 s default would let a
      // slow client hold a connection that long whatever the timeouts say.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
