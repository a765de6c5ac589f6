import type express from 'express';
import type { Logger } from 'pino';
import { useJsonFallbacks } from './json-fallbacks';
import { probeRouter, type Readiness } from './probe-router';
import { secureExpress } from './secure-express';

/**
 * The HEALTH_PORT server: /healthz and /readyz alone. Its connections are its own, so clients
 * filling the main port up to HTTP_MAX_CONNECTIONS cannot make an orchestrator's probes fail.
 */
export function createProbeHttpApp(opts: { logger: Logger; readiness: Readiness }): express.Express {
  const app = secureExpress({});
  app.use(probeRouter(opts.readiness));
  useJsonFallbacks(app, opts.logger);
  return app;
}
