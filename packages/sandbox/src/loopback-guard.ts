import type { NextFunction, Request, Response } from 'express';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

const isLoopbackAddress = (address: string): boolean =>
  address === '::1' || /^(?:::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);

const hostnameOf = (host: string | undefined): string | undefined => {
  if (!host) return undefined;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
};

/** Headers a proxy adds: a request carrying one came from somewhere else, whatever its peer. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via'];

/**
 * The sandbox's controls (faults, limits, signed webhooks, the reset) answer only a person at
 * this machine: the peer must be a loopback address, and the Host header localhost, 127.0.0.1
 * or [::1] — a web page whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name as
 * Host and is refused, whatever interface the simulator listens on. A request a proxy forwarded
 * (Forwarded, X-Forwarded-For, X-Real-IP, Via) is refused, since a same-host proxy makes any
 * client look local. A browser's request must come from the simulator's own page or from no page
 * (Origin absent or the same origin; Sec-Fetch-Site absent, same-origin or none), and a POST must
 * be JSON, which no cross-site form or text/plain POST can send without the browser asking first.
 */
export function loopbackOnly() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const refuse = (status: number, error: string, message: string): void =>
      void res.status(status).json({ ok: false, error, message });
    if (!isLoopbackAddress(req.socket.remoteAddress ?? '')) {
      res.status(403).json({
        ok: false,
        error: 'not_loopback',
        message: 'sandbox controls answer only to this machine (loopback)',
      });
      return;
    }
    const hostname = hostnameOf(req.get('host'));
    if (hostname === undefined || !LOOPBACK_NAMES.has(hostname)) {
      res.status(403).json({
        ok: false,
        error: 'bad_host',
        message: 'sandbox controls answer only to Host localhost, 127.0.0.1 or [::1]',
      });
      return;
    }
    const forwarded = FORWARDING_HEADERS.find((h) => req.get(h) !== undefined);
    if (forwarded) {
      refuse(403, 'forwarded', `sandbox controls refuse requests a proxy forwarded (${forwarded})`);
      return;
    }
    const origin = req.get('origin');
    if (origin !== undefined && origin !== `http://${req.get('host') ?? ''}`) {
      refuse(403, 'cross_origin', "sandbox controls answer only the simulator's own page or no page at all");
      return;
    }
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      refuse(403, 'cross_origin', "sandbox controls answer only the simulator's own page or no page at all");
      return;
    }
    const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (req.method !== 'GET' && req.method !== 'HEAD' && type !== 'application/json') {
      refuse(
        415,
        'unsupported_media_type',
        "send the body as JSON: -H 'content-type: application/json' -d '{}'",
      );
      return;
    }
    next();
  };
}
