import { ClickDeskApiError } from '../clickdesk/web-api-client';
import { isCodedError } from '../errors';

/** ClickDesk answers that no retry can change (contract §1). */
const PERMANENT_API_ERRORS = new Set([
  'conversation_not_found',
  'invalid_arguments',
  'conversation_closed',
  'visitor_not_found',
]);

export type Failure =
  /** Retry later; `delivered` says whether ClickDesk may have acted on the call. */
  | { kind: 'transient'; reason: string; delivered: 'no' | 'unknown' }
  | { kind: 'permanent'; reason: string }
  /** This instance no longer holds the row: someone else is delivering it. */
  | { kind: 'lease_lost'; reason: string };

export class LeaseLostError extends Error {
  constructor(readonly effectId: string) {
    super(`lease on ${effectId} lost before sending`);
  }
}

/**
 * Which failures of a delivery are worth retrying. Transient: the rate queue full or its
 * deadline passed (nothing left), a 429 after the governor's retries, 5xx, network errors,
 * refused credentials (the gateway reports those; the effect waits). Permanent: ClickDesk says
 * the call itself is wrong or its conversation gone.
 */
export function classifyFailure(err: unknown): Failure {
  if (err instanceof LeaseLostError) return { kind: 'lease_lost', reason: 'lease_lost' };
  if (err instanceof ClickDeskApiError) {
    if (err.code === 'CLICKDESK_API_ERROR' && PERMANENT_API_ERRORS.has(err.apiError))
      return { kind: 'permanent', reason: err.apiError };
    // An error answer (429, `ok: false`) proves the call was refused; a network error or an
    // unreadable answer (a proxy's 502) leaves it unknown.
    const refused = err.code !== 'CLICKDESK_HTTP_ERROR';
    return { kind: 'transient', reason: err.apiError, delivered: refused ? 'no' : 'unknown' };
  }
  // The team holds no installation (uninstalled, or revoked by ClickDesk): no token to send with
  // until it installs the app again; kept as a dead letter for an operator to retry then.
  if (isCodedError(err, 'INSTALLATION_MISSING')) return { kind: 'permanent', reason: 'not_installed' };
  if (isCodedError(err)) return { kind: 'transient', reason: err.code, delivered: 'no' };
  return { kind: 'transient', reason: 'unexpected', delivered: 'unknown' };
}
