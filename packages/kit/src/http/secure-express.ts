import express from 'express';
import helmet from 'helmet';

export interface SecureExpressOptions {
  /** TRUST_PROXY: addresses of reverse proxies whose X-Forwarded-* headers are believed; none by default. */
  trustProxy?: readonly string[];
}

/**
 * An express app with the headers every server of the app sends (Terms 8.1): helmet's set,
 * no X-Powered-By, and forwarded headers believed only from the proxies named in TRUST_PROXY.
 */
export function secureExpress(opts: SecureExpressOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const proxies = opts.trustProxy ?? [];
  app.set('trust proxy', proxies.length > 0 ? [...proxies] : false);
  app.use(helmet());
  return app;
}
