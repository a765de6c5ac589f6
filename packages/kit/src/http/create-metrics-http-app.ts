import type express from 'express';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { useJsonFallbacks } from './json-fallbacks';
import { secureExpress } from './secure-express';

/** The METRICS_PORT server: /metrics alone, with the same headers and JSON errors as the main one. */
export function createMetricsHttpApp(opts: {
  logger: Logger;
  router: Router;
  trustProxy?: readonly string[];
}): express.Express {
  const app = secureExpress({ trustProxy: opts.trustProxy });
  app.use('/metrics', opts.router);
  useJsonFallbacks(app, opts.logger);
  return app;
}
