import { Gauge, type Registry } from 'prom-client';
import { noLinkByDesign, type ReadinessInputs } from '../health/readiness';

/**
 * The RTM links of this instance and of the fleet, read at scrape time:
 * - `clickdesk_rtm_links{state}`: `deliverable` (said hello, not told to go), `open`, `wanted`
 *   (RTM_CONNECTIONS) and `seats_held` (seats of the fleet's link register this instance holds);
 * - `clickdesk_rtm_fleet_seats{state}`: `held` by every instance, and the app's `cap`;
 * - `clickdesk_rtm_no_link{reason}`: 1 while this instance delivers on no link, `by_design` (the
 *   fleet holds every link the app may have) or `wanted` (it should have one and has none).
 */
export function registerLinkMetrics(registry: Registry, gateway: () => ReadinessInputs['gateway']): void {
  new Gauge({
    name: 'clickdesk_rtm_links',
    help: "This instance's RTM links: deliverable, open, wanted (RTM_CONNECTIONS), and fleet seats held.",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const g = gateway();
      this.set({ state: 'deliverable' }, g.deliverableConnections);
      this.set({ state: 'open' }, g.openConnections);
      this.set({ state: 'wanted' }, g.fleet?.want ?? 0);
      this.set({ state: 'seats_held' }, g.fleet?.held ?? 0);
    },
  });
  new Gauge({
    name: 'clickdesk_rtm_fleet_seats',
    help: 'Seats of the fleet-wide RTM link register: held by all instances, and the cap (RTM_APP_LINKS).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const fleet = gateway().fleet;
      this.set({ state: 'held' }, fleet?.fleetHeld ?? 0);
      this.set({ state: 'cap' }, fleet?.cap ?? 0);
    },
  });
  new Gauge({
    name: 'clickdesk_rtm_no_link',
    help: 'Whether this instance delivers on no RTM link: by design (the fleet holds the cap) or wanted (it should have one).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const g = gateway();
      const none = g.running && g.deliverableConnections === 0;
      const byDesign = noLinkByDesign(g);
      this.set({ reason: 'by_design' }, byDesign ? 1 : 0);
      this.set({ reason: 'wanted' }, none && !byDesign ? 1 : 0);
    },
  });
}
