import express, { type ErrorRequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { describeError } from '../errors';
import { statusFor } from './error-status';

export interface HttpAppOptions {
  logger: Logger;
  /** Ready when the app can take events: reported at /readyz. */
  readiness: () => { ready: boolean; detail: Record<string, unknown> };
  /** Extra routers mounted by other parts (metrics, webhooks, admin). */
  routers?: Array<{ path: string; router: Router }>;
}

/** Builds the app's HTTP surface without listening: the root listens, tests use supertest. */
export function createHttpApp(opts: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', (_req, res) => {
    const { ready, detail } = opts.readiness();
    res.status(ready ? 200 : 503).json({ ok: ready, ...detail });
  });
  for (const { path, router } of opts.routers ?? []) app.use(path, router);

  app.use((req, res) => {
    res
      .status(404)
      .json({ ok: false, error: 'not_found', message: `No route for ${req.method} ${req.path}` });
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const status = statusFor(err);
    const { code, message } = describeError(err);
    if (status >= 500) opts.logger.error({ path: req.path, err: { code, message } }, 'request failed');
    res.status(status).json({ ok: false, error: code, message: status >= 500 ? 'internal error' : message });
  };
  app.use(onError);
  return app;
}
