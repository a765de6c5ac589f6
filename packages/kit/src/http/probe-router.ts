import express from 'express';

/** Ready when the app can take events; `detail` is shown on /readyz. */
export type Readiness = () => { ready: boolean; detail: Record<string, unknown> };

/**
 * /healthz (the process answers: liveness) and /readyz (the app can take events: readiness),
 * served on the main port and, with HEALTH_PORT, on a probe port of their own.
 */
export function probeRouter(readiness: Readiness): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', (_req, res) => {
    const { ready, detail } = readiness();
    res.status(ready ? 200 : 503).json({ ok: ready, ...detail });
  });
  return router;
}
