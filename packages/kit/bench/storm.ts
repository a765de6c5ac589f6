import type { Simulator } from '@clickdesk-bot/sandbox';
import type { SimulatorCounters } from '@clickdesk-bot/sandbox';

export interface StormCommand {
  cmd: 'storm';
  count: number;
  /** Events published per second, spread evenly. */
  ratePerSec: number;
  faultEveryMs: number;
  seed: number;
  /** Give up (and report) after this long. */
  timeoutMs: number;
  /** Links the client holds in calm weather: how long it takes after the storm to hold them again is reported. */
  links: number;
}

export type FaultKind = 'warning' | 'refresh_requested' | 'abrupt_close' | 'pongs_withheld' | 'stall';
export const FAULT_KINDS: readonly FaultKind[] = [
  'warning',
  'refresh_requested',
  'abrupt_close',
  'pongs_withheld',
  'stall',
];

export interface StormResult {
  done: true;
  seconds: number;
  counters: SimulatorCounters;
  /** Longest time with no link ClickDesk could deliver on. */
  longestGapMs: number;
  /** From the storm's end (faults stop) until `links` links are deliverable again (-1: not within 30 s). */
  settledMs: number;
  /** How long faults were injected: while events were being published. */
  faultSeconds: number;
  faults: Record<FaultKind, number>;
  timedOut: boolean;
}

/**
 * Publishes `count` message events at a steady rate while a random fault hits every link
 * every `faultEveryMs` (warning, refresh_requested, abrupt close, pongs withheld 1 s, stall
 * 1 s). The storm lasts as long as the publishing (count / rate: 40 s for 10,000 at 250/s);
 * then the faults stop, and the run ends once every event is acknowledged or expired and the
 * client holds its links again. Contract timings throughout.
 */
export function runStorm(sim: Simulator, cmd: StormCommand): Promise<StormResult> {
  sim.resetCounters();
  const random = mulberry32(cmd.seed);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const started = process.hrtime.bigint();
  const startedMs = Date.now();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  let published = 0;
  const text = 'Where is my order? I would like to change the delivery address if it has not shipped.';
  const publisher = setInterval(() => {
    const due = Math.min(cmd.count, Math.floor(((Date.now() - startedMs) / 1000) * cmd.ratePerSec));
    for (; published < due; published++)
      sim.publish({
        type: 'message',
        conversation_id: `C${published % 500}`,
        sender: { kind: 'visitor', id: `V${published % 500}` },
        text,
        ts: String(published),
      });
  }, 10);
  let faultsEndedAt: number | undefined;
  let settledAt: number | undefined;
  const endFaults = (): void => {
    clearInterval(injector);
    for (const t of timers) clearTimeout(t);
    sim.hub.faults.withholdPongs = false;
    sim.hub.setStall(false);
    faultsEndedAt = Date.now();
  };
  const injector = setInterval(() => {
    if (published >= cmd.count) {
      endFaults();
      return;
    }
    const kind = FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)] ?? 'warning';
    faults[kind] += 1;
    switch (kind) {
      case 'warning':
      case 'refresh_requested':
        sim.hub.disconnect(kind);
        return;
      case 'abrupt_close':
        sim.hub.closeAbruptly();
        return;
      case 'pongs_withheld':
        sim.hub.faults.withholdPongs = true;
        later(1_000, () => (sim.hub.faults.withholdPongs = false));
        return;
      case 'stall':
        sim.hub.setStall(true);
        later(1_000, () => sim.hub.setStall(false));
        return;
    }
  }, cmd.faultEveryMs);
  return new Promise((resolve) => {
    const check = setInterval(() => {
      const now = Date.now();
      if (faultsEndedAt !== undefined && settledAt === undefined && sim.hub.deliverableLinks >= cmd.links)
        settledAt = now;
      const timedOut = now - startedMs > cmd.timeoutMs;
      const drained = faultsEndedAt !== undefined && sim.hub.unsettled === 0;
      const settleOver =
        settledAt !== undefined || (faultsEndedAt !== undefined && now - faultsEndedAt >= 30_000);
      if (!timedOut && !(drained && settleOver)) return;
      if (faultsEndedAt === undefined) endFaults();
      clearInterval(publisher);
      clearInterval(check);
      const ended = faultsEndedAt ?? now;
      resolve({
        done: true,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        counters: sim.counters,
        longestGapMs: sim.hub.longestGapMs,
        settledMs: settledAt === undefined ? -1 : settledAt - ended,
        faultSeconds: (ended - startedMs) / 1000,
        faults,
        timedOut,
      });
    }, 5);
  });
}

/** A small seeded PRNG, so a storm can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
