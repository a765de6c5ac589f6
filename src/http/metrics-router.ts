import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { Registry } from 'prom-client';

/** `/metrics` in the Prometheus text format, optionally behind a bearer token. */
export function metricsRouter(registry: Registry, token: string | undefined): express.Router {
  const router = express.Router();
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  router.get('/', (req, res, next) => {
    if (expected) {
      const given = Buffer.from(req.get('authorization') ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res
          .status(401)
          .set('www-authenticate', 'Bearer')
          .json({ ok: false, error: 'unauthorized', message: 'send Authorization: Bearer <METRICS_TOKEN>' });
        return;
      }
    }
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });
  return router;
}
