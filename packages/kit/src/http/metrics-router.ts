import express from 'express';
import type { Registry } from 'prom-client';
import { requireBearer } from './require-bearer';

/** `/metrics` in the Prometheus text format, optionally behind a bearer token (METRICS_TOKEN). */
export function metricsRouter(registry: Registry, token: string | undefined): express.Router {
  const router = express.Router();
  if (token) router.use(requireBearer(token, 'METRICS_TOKEN'));
  router.get('/', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });
  return router;
}
