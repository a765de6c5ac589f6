import { Counter, Gauge, type Registry } from 'prom-client';
import type { InstallationSummary } from '../installations/installation';

/**
 * Installations and token rotation (docs/installations.md). No team ids as labels: the
 * earliest expiry stands for all teams, which is what an alert needs.
 */
export class InstallationMetrics {
  private source: (() => Promise<InstallationSummary[]>) | undefined;
  private readonly now: () => number;

  readonly refreshes: Counter<'outcome'>;
  readonly eventsDropped: Counter<'reason'>;

  constructor(registry: Registry, now: () => number = Date.now) {
    this.now = now;
    this.refreshes = new Counter({
      name: 'clickdesk_token_refreshes_total',
      help: 'Bot token refreshes, by outcome (ok, invalid_grant: ClickDesk revoked the installation, error).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['ok', 'invalid_grant', 'error']) this.refreshes.inc({ outcome }, 0);
    this.eventsDropped = new Counter({
      name: 'clickdesk_events_dropped_total',
      help: 'Events acknowledged and dropped, by reason (not_installed: the team holds no installation).',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.eventsDropped.inc({ reason: 'not_installed' }, 0);
    const snapshot = () => this.snapshot();
    const clock = () => this.now();
    new Gauge({
      name: 'clickdesk_installations',
      help: 'Teams that have installed the app (installations held).',
      registers: [registry],
      async collect() {
        const all = await snapshot();
        if (all) this.set(all.length);
      },
    });
    new Gauge({
      name: 'clickdesk_token_earliest_expiry_seconds',
      help: 'Seconds until the earliest bot access token expires (negative: one expired unrefreshed).',
      registers: [registry],
      async collect() {
        const all = await snapshot();
        const expiries = (all ?? []).flatMap((i) => (i.expiresAt === undefined ? [] : [i.expiresAt]));
        // No expiring token held: nothing can expire unrefreshed. A day stands for "far away".
        this.set(expiries.length === 0 ? 86_400 : (Math.min(...expiries) - clock()) / 1000);
      },
    });
  }

  bind(source: () => Promise<InstallationSummary[]>): void {
    this.source = source;
  }

  private async snapshot(): Promise<InstallationSummary[] | undefined> {
    return this.source?.().catch(() => undefined);
  }
}
