import { isCodedError, type ErrorCode } from '../errors';

/** The one mapping from error codes to HTTP statuses. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
};

export function statusFor(err: unknown): number {
  if (isCodedError(err)) return STATUS[err.code] ?? 500;
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status;
  // body-parser errors carry their own 4xx (413 too large, 400 malformed JSON, 415).
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}
