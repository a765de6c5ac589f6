import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { exportSubject } from '../lifecycle/subject-export';
import type { StorageContext } from '../storage/sql/storage-context';
import { requireBearer } from './require-bearer';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Admin endpoints need `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN they are off. */
export function requireAdmin(token: string | undefined) {
  if (token) return requireBearer(token, 'ADMIN_TOKEN');
  return (_req: Request, res: Response): void => {
    res
      .status(404)
      .json({
        ok: false,
        error: 'not_found',
        message: 'admin endpoints are off: set ADMIN_TOKEN to enable them',
      });
  };
}

/** Decrypted Data leaves only over TLS or to this machine (Terms 6.2 covers serving too). */
export function requireSecureChannel(req: Request, res: Response, next: NextFunction): void {
  if (req.secure || LOOPBACK.has(req.socket.remoteAddress ?? '')) {
    next();
    return;
  }
  res.status(403).json({
    ok: false,
    error: 'insecure_channel',
    message: 'subject exports are served only over TLS or from loopback',
  });
}

const query = z.object({ team_id: z.string().min(1).max(200) });

/** GET /admin/subjects/:kind/:id?team_id=T — everything held about one person, as JSON. */
export function adminRouter(ctx: StorageContext, token: string | undefined): express.Router {
  const router = express.Router();
  router.use(requireAdmin(token), requireSecureChannel);
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
