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

/**
 * The sandbox's controls (faults, limits, signed webhooks) answer only a caller on this machine
 * that named this machine: the peer must be a loopback address, and the Host header localhost,
 * 127.0.0.1 or [::1] — a web page whose name was rebound to 127.0.0.1 (DNS rebinding) sends its
 * own name as Host and is refused, whatever interface the simulator listens on.
 */
export function loopbackOnly() {
  return (req: Request, res: Response, next: NextFunction): void => {
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
    next();
  };
}
