import type { GatewayObserver } from './gateway';

/** One observer that tells each of `observers` (metrics, and any the bot's options add). */
export function combineObservers(...observers: Array<GatewayObserver | undefined>): GatewayObserver {
  const all = observers.filter((o): o is GatewayObserver => o !== undefined);
  if (all.length === 1 && all[0]) return all[0];
  return {
    connectionChanged: (open) => all.forEach((o) => o.connectionChanged?.(open)),
    reconnect: (reason) => all.forEach((o) => o.reconnect?.(reason)),
    envelope: (outcome) => all.forEach((o) => o.envelope?.(outcome)),
    protocolError: () => all.forEach((o) => o.protocolError?.()),
    acked: (seconds) => all.forEach((o) => o.acked?.(seconds)),
  };
}
