/**
 * Every error the app raises on purpose carries a stable `code` (for logs, metrics and
 * HTTP mapping) and, where it wraps another failure, the original `cause`.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CLICKDESK_API_ERROR'
  | 'CLICKDESK_HTTP_ERROR'
  | 'CLICKDESK_AUTH_FAILED'
  | 'CLICKDESK_LINK_DISABLED'
  | 'CLICKDESK_TERMINATED'
  | 'CLICKDESK_RATE_LIMITED'
  | 'RTM_PROTOCOL_ERROR'
  | 'RTM_CONNECT_FAILED'
  | 'FAQ_INVALID'
  | 'POLICY_BLOCKED'
  | 'DECRYPT_FAILED'
  | 'DATA_KEY_DESTROYED'
  | 'KEY_MISSING'
  | 'MASTER_KEY_INVALID'
  | 'MASTER_KEY_MISSING'
  | 'MASTER_KEY_UNKNOWN'
  | 'STORAGE_INVALID'
  | 'STORAGE_SYNC_FAILED'
  | 'RATE_QUEUE_FULL'
  | 'RATE_DEADLINE'
  | 'RATE_QUEUE_CLOSED'
  | 'EGRESS_BLOCKED'
  | 'PORT_IN_USE'
  | 'SANDBOX_RESET_TIMEOUT'
  | 'SANDBOX_MISSING'
  | 'HANDLER_FAILED'
  | 'JOB_FENCED_OUT'
  | 'SHUTDOWN_TIMEOUT'
  | 'INSTALLATION_MISSING'
  | 'INSTALLATION_REVOKED'
  | 'OAUTH_FAILED'
  | 'BAD_REQUEST'
  | 'NOT_FOUND';

export class CodedError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodedError';
    this.code = code;
  }
}

export function isCodedError(err: unknown, code?: ErrorCode): err is CodedError {
  return err instanceof CodedError && (code === undefined || err.code === code);
}

/** A short, log-safe description of any thrown value (no stack, no payloads). */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CodedError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: err.name, message: err.message };
  return { code: 'UNKNOWN', message: String(err) };
}
