import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * Middleware that lets a request through only with `Authorization: Bearer <token>`, compared in
 * constant time whatever the lengths: both sides are hashed first, so how long a wrong guess ran
 * tells nothing, not even the token's length. `variable` names the setting, so the 401 says what to send.
 */
export function requireBearer(token: string, variable: string) {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  const expected = digest(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!timingSafeEqual(digest(req.get('authorization') ?? ''), expected)) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer')
        .json({ ok: false, error: 'unauthorized', message: `send Authorization: Bearer <${variable}>` });
      return;
    }
    next();
  };
}
