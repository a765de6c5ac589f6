/**
 * The limits ClickDesk enforces (shared/clickdesk-api.md §1), as buckets the governor keeps.
 * A sliding window admits at most `limit` calls in any `windowMs` span; a token bucket admits
 * `ratePerSec` sustained with bursts of `burst`.
 */
export type BucketSpec =
  | { kind: 'window'; key: string; method: string; limit: number; windowMs: number }
  | { kind: 'token'; key: string; method: string; ratePerSec: number; burst: number };

export interface RateLimits {
  /** Calls per window, by method. Methods not listed are not limited. */
  perMethod: Readonly<Record<string, number>>;
  windowMs: number;
  /** Added to every window: the server counts arrival times, which trail our send times. */
  marginMs: number;
  /** chat.postMessage per conversation. */
  perConversation: { ratePerSec: number; burst: number };
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
    'chat.postMessage': 600,
    'auth.revoke': 50,
    'oauth.v2.access': 20,
  },
  windowMs: 60_000,
  marginMs: 250,
  perConversation: { ratePerSec: 1, burst: 3 },
};

/** The buckets one call counts against: its method's window, plus the conversation's for posts. */
export function bucketsFor(
  limits: RateLimits,
  call: { method: string; scope: string; conversationId?: string },
): BucketSpec[] {
  const buckets: BucketSpec[] = [];
  const limit = limits.perMethod[call.method];
  if (limit !== undefined) {
    buckets.push({
      kind: 'window',
      key: `${call.scope}:${call.method}`,
      method: call.method,
      limit,
      windowMs: limits.windowMs + limits.marginMs,
    });
  }
  if (call.method === 'chat.postMessage' && call.conversationId) {
    buckets.push({
      kind: 'token',
      key: `${call.scope}:chat.postMessage:${call.conversationId}`,
      method: call.method,
      // Slightly under the server's rate, for the same reason as the window margin.
      ratePerSec: limits.perConversation.ratePerSec * (limits.windowMs / (limits.windowMs + limits.marginMs)),
      burst: limits.perConversation.burst,
    });
  }
  return buckets;
}
