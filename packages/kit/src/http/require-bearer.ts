import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * Middleware that lets a request through only with `Authorization: Bearer <token>`, compared in
 * constant time. `variable` names the setting, so the 401 says what to send.
 */
export function requireBearer(token: string, variable: string) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = Buffer.from(req.get('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer')
        .json({ ok: false, error: 'unauthorized', message: `send Authorization: Bearer <${variable}>` });
      return;
    }
    next();
  };
}
