import type express from 'express';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { countResponses, OTHER_ROUTE } from './count-responses';
import { useJsonFallbacks } from './json-fallbacks';
import { probeRouter, type Readiness } from './probe-router';
import { secureExpress } from './secure-express';

export interface HttpAppOptions {
  logger: Logger;
  /** Ready when the app can take events: reported at /readyz. */
  readiness: Readiness;
  /** Extra routers mounted by other parts (metrics, webhooks, admin). */
  routers?: Array<{ path: string; router: Router }>;
  /** TRUST_PROXY: reverse proxies whose X-Forwarded-* headers are believed. */
  trustProxy?: readonly string[];
  /** Told the routes once, then every answered request's route and status (metrics). */
  responses?: ResponseObserver;
}

export interface ResponseObserver {
  preset(routes: readonly string[]): void;
  observe(route: string, status: number): void;
}

/** Builds the app's HTTP surface without listening: the root listens, tests use supertest. */
export function createHttpApp(opts: HttpAppOptions): express.Express {
  const app = secureExpress({ trustProxy: opts.trustProxy });
  if (opts.responses) {
    const routes = [
      '/healthz',
      '/readyz',
      ...(opts.routers ?? []).map((r) => r.path).filter((p) => p !== '/'),
    ];
    opts.responses.preset([...new Set(routes), OTHER_ROUTE]);
    app.use(countResponses(routes, (route, status) => opts.responses?.observe(route, status)));
  }

  app.use(probeRouter(opts.readiness));
  for (const { path, router } of opts.routers ?? []) app.use(path, router);

  useJsonFallbacks(app, opts.logger);
  return app;
}
