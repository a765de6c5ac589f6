import { CLOSE_REASONS } from '../clickdesk/rtm-connection';
import { API_OUTCOMES } from '../clickdesk/web-api-client';
import { DISCONNECT_REASONS } from '../clickdesk/wire';
import { lifecycleEventSchema } from '../lifecycle/lifecycle-event';
import type { PolicyRule } from '../policy/channel-policy';
import { CONTRACT_LIMITS } from '../rate-limit/bucket-spec';
import { PRIORITIES } from '../rate-limit/rate-governor';
import type { AppMetrics } from './app-metrics';

/** Why an RTM link was replaced: how it ended, or the server's disconnect notice. */
export const RECONNECT_REASONS: readonly string[] = [...CLOSE_REASONS, ...DISCONNECT_REASONS];
/** Data-lifecycle jobs: one per lifecycle webhook type, and the refresher's `deleted_upstream`. */
export const LIFECYCLE_JOB_TYPES: readonly string[] = [
  ...lifecycleEventSchema.options.map((o) => o.shape.type.value),
  'deleted_upstream',
];
export const HANDLER_OUTCOMES = ['ok', 'retry', 'dead_letter'] as const;
export const POLICY_RULES: readonly PolicyRule[] = [
  'advertising',
  'sponsored',
  'external_link',
  'tracking_link',
  'impersonation',
  'contact_leak',
];
export const CONTRACT_METHODS: readonly string[] = Object.keys(CONTRACT_LIMITS.perMethod);

/**
 * Puts every series an operator's query names at 0 before its first event. A labelled series
 * that appears with its first increment has no earlier sample, so rate() and increase() miss
 * that event (and an alert on it never sees it); present at 0, the first event is an increase.
 */
export function presetContractSeries(m: AppMetrics): void {
  for (const reason of RECONNECT_REASONS) m.rtmReconnects.inc({ reason }, 0);
  for (const method of CONTRACT_METHODS) {
    for (const outcome of API_OUTCOMES) m.apiRequests.inc({ method, outcome }, 0);
    for (const priority of PRIORITIES) m.rateWait.zero({ method, priority });
  }
  for (const event of LIFECYCLE_JOB_TYPES) m.lifecycleJobSeconds.zero({ event });
  for (const outcome of HANDLER_OUTCOMES) m.handlerDuration.series({ outcome });
  for (const rule of POLICY_RULES) m.policyBlocked.inc({ rule }, 0);
  for (const operation of ['encrypt', 'decrypt', 'wrap', 'unwrap', 'shred']) {
    for (const outcome of ['ok', 'failed']) m.cryptoOperations.inc({ operation, outcome }, 0);
  }
  // A record naming a key that does not exist (KEY_MISSING) is an error; a destroyed key is an erasure.
  for (const outcome of ['key_missing', 'key_destroyed'])
    m.cryptoOperations.inc({ operation: 'decrypt', outcome }, 0);
}
