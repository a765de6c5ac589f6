import { Gauge, type Registry } from 'prom-client';
import type { Dependency, DependencyState } from '../health/readiness';

const DEPENDENCIES: readonly Dependency[] = ['storage', 'rtm', 'rate_store'];

/**
 * `clickdesk_dependency_up{dependency}`: 1 while storage can commit, a link can deliver, the
 * shared rate store answers; 0 otherwise (what /readyz gives as reasons). Read at scrape time.
 */
export function registerDependencyMetrics(
  registry: Registry,
  states: () => Record<Dependency, DependencyState>,
): void {
  new Gauge({
    name: 'clickdesk_dependency_up',
    help: 'Whether a dependency works now: storage commits, an RTM link delivers, the shared rate store answers (1) or not (0).',
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      const now = states();
      for (const d of DEPENDENCIES) this.set({ dependency: d }, now[d].up ? 1 : 0);
    },
  });
}
