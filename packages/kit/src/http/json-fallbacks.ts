import type { ErrorRequestHandler, Express } from 'express';
import type { Logger } from 'pino';
import { describeError, isCodedError } from '../errors';
import { statusFor } from './error-status';

/** What a client is told about a non-coded 4xx; never the error's own message (it can quote the body). */
const CLIENT_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'the body is not valid JSON',
  'entity.too.large': 'the body is too large',
  'encoding.unsupported': 'unsupported content encoding',
  'charset.unsupported': 'unsupported charset',
  'request.aborted': 'the request was aborted',
};

/**
 * Ends an app with a JSON 404 for unknown routes and a JSON error handler: a status from the one
 * mapping (error-status.ts), a stable code, and never a stack, a path on disk or the request body.
 */
export function useJsonFallbacks(app: Express, logger: Logger): void {
  app.use((req, res) => {
    res
      .status(404)
      .json({ ok: false, error: 'not_found', message: `No route for ${req.method} ${req.path}` });
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const status = statusFor(err);
    const { code, message } = describeError(err);
    if (status >= 500) logger.error({ path: req.path, err: { code, message } }, 'request failed');
    const type = (err as { type?: unknown } | null)?.type;
    const told =
      status >= 500
        ? 'internal error'
        : isCodedError(err)
          ? message
          : (CLIENT_MESSAGES[String(type)] ?? 'bad request');
    res.status(status).json({ ok: false, error: code, message: told });
  };
  app.use(onError);
}
