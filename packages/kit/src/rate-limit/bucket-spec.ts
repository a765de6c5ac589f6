/**
 * The limits ClickDesk enforces (docs/clickdesk-contract.md §1), as buckets the governor keeps.
 * A sliding window admits at most `limit` calls in any `windowMs` span; a token bucket admits
 * `ratePerSec` sustained with bursts of `burst`.
 *
 * Terms 4.9: the server counts a call when it arrives, and an arrival lies somewhere between the
 * moment the governor let the call go and the moment its answer came back. The stores therefore
 * count each call at the later of the two as soon as the answer is in (`settle`), and judge a new
 * call by the moment it is let go, the earliest it can arrive. That holds whatever the network
 * delay, and on one clock (the store's) whatever the instances' clocks say.
 */
export type WindowBucket = {
  kind: 'window';
  key: string;
  method: string;
  /** The contract's (or the server's last reported) calls per window. */
  limit: number;
  /** The contract's window. */
  windowMs: number;
  /** Planning margin added to the window: spans of windowMs + marginMs hold at most `limit` calls. */
  marginMs: number;
  /** An unsettled call is counted as arriving this long after it was let go (crashed senders). */
  inFlightMs: number;
  /**
   * The part of the limit this call may fill (guest calls, rate-governor.ts): it is let go only
   * while fewer than floor(limit × share) calls count in the window. Unset: the whole limit.
   */
  share?: number;
};

/**
 * chat.postMessage per conversation. Calls to one conversation go one at a time (each waits for the
 * answer to the one before, which also keeps the visitor's messages in order), so the store knows
 * the order of arrivals and an upper bound for each; it keeps a generic cell rate (GCRA) over those.
 */
export type TokenBucket = {
  kind: 'token';
  key: string;
  method: string;
  ratePerSec: number;
  burst: number;
  inFlightMs: number;
};

export type BucketSpec = WindowBucket | TokenBucket;

export interface RateLimits {
  /** Calls per window, by method. Methods not listed are not limited. */
  perMethod: Readonly<Record<string, number>>;
  windowMs: number;
  /** Added to every window as a planning margin (clock-rate drift, rounding); see the header comment. */
  marginMs: number;
  /** chat.postMessage per conversation. */
  perConversation: { ratePerSec: number; burst: number };
  /** How long an unanswered call may be in flight before it is counted as arrived; default 15 s. */
  inFlightMs?: number;
}

export const CONTRACT_LIMITS: RateLimits = {
  perMethod: {
    'apps.connections.open': 20,
    'auth.test': 100,
    'team.info': 50,
    'agents.list': 20,
    'visitors.info': 50,
    'conversations.info': 50,
    'conversations.transfer': 50,
    'conversations.history': 50,
    'chat.postMessage': 600,
    'auth.revoke': 50,
    'oauth.v2.access': 20,
  },
  windowMs: 60_000,
  marginMs: 250,
  perConversation: { ratePerSec: 1, burst: 3 },
};

/** Longer than the Web API client's 10 s request timeout: a call unanswered by then never arrived late. */
export const DEFAULT_IN_FLIGHT_MS = 15_000;

/** The window bucket of a method for a scope, or undefined when the method is not limited. */
export function windowFor(
  limits: RateLimits,
  call: { method: string; scope: string },
): WindowBucket | undefined {
  const limit = limits.perMethod[call.method];
  if (limit === undefined) return undefined;
  return {
    kind: 'window',
    key: `${call.scope}:${call.method}`,
    method: call.method,
    limit,
    windowMs: limits.windowMs,
    marginMs: limits.marginMs,
    inFlightMs: limits.inFlightMs ?? DEFAULT_IN_FLIGHT_MS,
  };
}

/** The buckets one call counts against: its method's window, plus the conversation's for posts. */
export function bucketsFor(
  limits: RateLimits,
  call: { method: string; scope: string; conversationId?: string },
): BucketSpec[] {
  const buckets: BucketSpec[] = [];
  const window = windowFor(limits, call);
  if (window) buckets.push(window);
  if (call.method === 'chat.postMessage' && call.conversationId) {
    buckets.push({
      kind: 'token',
      key: `${call.scope}:chat.postMessage:${call.conversationId}`,
      method: call.method,
      ratePerSec: limits.perConversation.ratePerSec,
      burst: limits.perConversation.burst,
      inFlightMs: limits.inFlightMs ?? DEFAULT_IN_FLIGHT_MS,
    });
  }
  return buckets;
}

/** The most calls per contract window the governor plans for: the limit over the widened span. */
export function plannedCeiling(limit: number, windowMs: number, marginMs: number): number {
  return (limit * windowMs) / (windowMs + marginMs);
}
