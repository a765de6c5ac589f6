import type { StorageState } from './storage-health';

/** The dependencies readiness reports on, each also a `clickdesk_dependency_up` series. */
export type Dependency = 'storage' | 'rtm' | 'rate_store';

export interface DependencyState {
  readonly up: boolean;
  /** What is wrong, or (rate store) how the app copes, in words for the operator. */
  readonly reason?: string;
}

export interface ReadinessInputs {
  gateway: {
    readonly running: boolean;
    readonly openConnections: number;
    readonly deliverableConnections: number;
    /** The fleet's link register as this instance sees it (absent: one instance, no register). */
    readonly fleet?: {
      readonly cap: number;
      readonly want: number;
      readonly held: number;
      readonly fleetHeld: number | undefined;
    };
  };
  storage: StorageState;
  /** undefined: the rate budget is this process's own (no shared store to lose). */
  rateStore: { readonly reachable: boolean; readonly mode: string; readonly instances: number } | undefined;
}

/** Each dependency's state, as readiness and the metrics report it. */
export function dependencyStates({
  gateway,
  storage,
  rateStore,
}: ReadinessInputs): Record<Dependency, DependencyState> {
  return {
    storage: storage.up
      ? { up: true }
      : {
          up: false,
          reason: `storage cannot commit (${storage.reason ?? 'unknown'}): events are not acknowledged until it can`,
        },
    rtm: rtmState(gateway),
    rate_store: !rateStore
      ? { up: true }
      : rateStore.reachable && rateStore.mode === 'shared'
        ? { up: true }
        : {
            up: rateStore.reachable,
            reason: rateStore.reachable
              ? `the shared rate store answers again; still planning with 1/${rateStore.instances} of every limit until the calls counted alone leave the window`
              : `the shared rate store (Redis) is unreachable; fallback active: planning with 1/${rateStore.instances} of every limit`,
          },
  };
}

/** Whether this instance holds no link because the fleet holds every one the app may have. */
export function noLinkByDesign(gateway: ReadinessInputs['gateway']): boolean {
  const fleet = gateway.fleet;
  return (
    gateway.running &&
    gateway.deliverableConnections === 0 &&
    fleet !== undefined &&
    fleet.held === 0 &&
    fleet.fleetHeld !== undefined &&
    fleet.fleetHeld >= fleet.cap
  );
}

function rtmState(gateway: ReadinessInputs['gateway']): DependencyState {
  if (!gateway.running) return { up: false, reason: 'intake is stopped' };
  if (gateway.deliverableConnections > 0) return { up: true };
  const fleet = gateway.fleet;
  if (noLinkByDesign(gateway) && fleet)
    // Up: the app's links are all held and deliver; this instance still replays, delivers the
    // outbox, runs lifecycle jobs and serves webhooks, and takes a seat as soon as one falls free.
    return {
      up: true,
      reason: `no link by design: the app's ${fleet.cap} RTM links are held by other instances; this instance takes one when a seat falls free`,
    };
  const seats = fleet ? `, ${fleet.held} of ${fleet.want} seats held` : '';
  return {
    up: false,
    reason: `no link, wanted: no RTM link can deliver events (${gateway.openConnections} open${seats})`,
  };
}

/**
 * Ready when storage can commit and a link can deliver events. An unreachable rate store does not
 * make the app unready while its local fallback plans (replies slow down, they do not stop); it is
 * reported as a reason all the same. `reasons` lists what is wrong, empty when nothing is.
 */
export function readiness(inputs: ReadinessInputs): {
  ready: boolean;
  reasons: string[];
  dependencies: Record<Dependency, DependencyState>;
} {
  const dependencies = dependencyStates(inputs);
  const reasons = Object.values(dependencies).flatMap((d) => (d.reason ? [d.reason] : []));
  return { ready: dependencies.storage.up && dependencies.rtm.up, reasons, dependencies };
}
