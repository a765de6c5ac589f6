/** What the simulator saw, so tests can judge the app from the outside. */
export interface SimulatorCounters {
  apiCalls: Record<string, number>;
  /** HTTP 429 answers sent, in all and by method. */
  ratelimited: number;
  ratelimitedByMethod: Record<string, number>;
  eventsPublished: number;
  envelopesDelivered: number;
  envelopesRedelivered: number;
  /** Acks that matched an outstanding envelope. */
  acks: number;
  /** Events acknowledged at least once (each counted once). */
  eventsAcked: number;
  /** Events whose retries ran out without an ack: lost, as far as ClickDesk can tell. */
  eventsExpired: number;
  /** Acks the withhold-acks fault swallowed. */
  acksWithheld: number;
  /** Malformed frames received from clients. */
  protocolErrors: number;
  connectionsOpened: number;
  upgradesRefused: number;
  webhookAttempts: number;
  webhooksDelivered: number;
  webhooksFailed: number;
}

export function emptyCounters(): SimulatorCounters {
  return {
    apiCalls: {},
    ratelimited: 0,
    ratelimitedByMethod: {},
    eventsPublished: 0,
    envelopesDelivered: 0,
    envelopesRedelivered: 0,
    acks: 0,
    eventsAcked: 0,
    eventsExpired: 0,
    acksWithheld: 0,
    protocolErrors: 0,
    connectionsOpened: 0,
    upgradesRefused: 0,
    webhookAttempts: 0,
    webhooksDelivered: 0,
    webhooksFailed: 0,
  };
}

export function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}
