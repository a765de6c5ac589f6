import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { exportSubject } from '../lifecycle/subject-export';
import type { StorageContext } from '../storage/sql/storage-context';
import { requireBearer } from './require-bearer';
import { TEAM_ID_PATTERN } from '../core/team-id';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Admin endpoints need `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN they are off. */
export function requireAdmin(token: string | undefined) {
  if (token) return requireBearer(token, 'ADMIN_TOKEN');
  return (_req: Request, res: Response): void => {
    res.status(404).json({
      ok: false,
      error: 'not_found',
      message: 'admin endpoints are off: set ADMIN_TOKEN to enable them',
    });
  };
}

/**
 * Decrypted Data leaves only over TLS or to this machine (Terms 6.2 covers serving too). Behind a
 * reverse proxy named in TRUST_PROXY, the client is the one in X-Forwarded-For and TLS is what
 * X-Forwarded-Proto says; a request forwarded by a proxy that is not named counts as remote and
 * plain, so a same-host proxy cannot make everyone "loopback".
 */
export function requireSecureChannel(req: Request, res: Response, next: NextFunction): void {
  const forwarded = req.get('x-forwarded-for') !== undefined || req.get('forwarded') !== undefined;
  const untrustedProxy = forwarded && req.ips.length === 0;
  if (!untrustedProxy && (req.secure || LOOPBACK.has(req.ip ?? ''))) {
    next();
    return;
  }
  res.status(403).json({
    ok: false,
    error: 'insecure_channel',
    message: untrustedProxy
      ? 'forwarded by a proxy not named in TRUST_PROXY: subject exports are served only over TLS or from loopback'
      : 'subject exports are served only over TLS or from loopback',
  });
}

const query = z.object({ team_id: z.string().regex(TEAM_ID_PATTERN) });

/** GET /admin/subjects/:kind/:id?team_id=T — everything held about one person, as JSON. */
export function adminRouter(ctx: StorageContext, token: string | undefined): express.Router {
  const router = express.Router();
  // The channel first: a token must never travel, or be probed, over a plain remote connection.
  router.use(requireSecureChannel, requireAdmin(token));
  router.get('/subjects/:kind/:id', (req, res, next) => {
    const kind = req.params.kind;
    const q = query.safeParse(req.query);
    if ((kind !== 'visitor' && kind !== 'agent') || !q.success) {
      res.status(400).json({
        ok: false,
        error: 'bad_request',
        message: 'use /admin/subjects/visitor|agent/<id>?team_id=<team>',
      });
      return;
    }
    exportSubject(ctx, q.data.team_id, { kind, id: String(req.params.id) }).then((data) => {
      res.set('cache-control', 'no-store').json(data);
    }, next);
  });
  return router;
}
