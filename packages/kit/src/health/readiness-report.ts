import { readiness, type ReadinessInputs } from './readiness';

/** What the app has in hand besides its dependencies, shown beside the verdict. */
export interface ReadinessWork {
  /** RTM_CONNECTIONS: the links this instance wants. */
  wantedLinks: number;
  handlersPending: number;
  deliveriesPending: number;
  rateQueue: number;
}

/** What /readyz answers, on the main port and on HEALTH_PORT alike: the verdict, its reasons, and the work in hand. */
export function readinessReport(
  inputs: ReadinessInputs,
  work: ReadinessWork,
): { ready: boolean; detail: Record<string, unknown> } {
  const { gateway } = inputs;
  const { ready, reasons, dependencies } = readiness(inputs);
  return {
    ready,
    detail: {
      reasons,
      dependencies,
      rtm_connections: gateway.openConnections,
      rtm_links: {
        deliverable: gateway.deliverableConnections,
        wanted: work.wantedLinks,
        seats_held: gateway.fleet?.held ?? 0,
        fleet_seats_held: gateway.fleet?.fleetHeld ?? null,
        app_cap: gateway.fleet?.cap ?? null,
      },
      handlers_pending: work.handlersPending,
      deliveries_pending: work.deliveriesPending,
      rate_queue: work.rateQueue,
    },
  };
}
