import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { PolicyRule } from '../policy/channel-policy';

const POLICY_RULES: PolicyRule[] = [
  'advertising',
  'sponsored',
  'external_link',
  'tracking_link',
  'impersonation',
  'contact_leak',
];

/**
 * The app's Prometheus metrics, on a registry of its own (never the global one), so two apps
 * in one process (tests) do not collide. Labels are bounded sets only: never conversation,
 * visitor or user ids.
 */
export class AppMetrics {
  readonly registry = new Registry();
  readonly policyBlocked: Counter<'rule'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.policyBlocked = new Counter({
      name: 'clickdesk_policy_blocked_messages_total',
      help: 'Outbound messages the channel policy blocked, by rule (Terms 4.8).',
      labelNames: ['rule'],
      registers: [this.registry],
    });
    for (const rule of POLICY_RULES) this.policyBlocked.inc({ rule }, 0);
  }
}
