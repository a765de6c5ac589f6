import { LogLevel, SocketModeClient, type Logger as SlackLogger } from '@slack/socket-mode';
import { createBotApp, type BotApp } from '../src/app';
import { loadConfig } from '../src/config/load-config';
import type { ChatHandler } from '../src/core/chat-handler';
import { silentLogger } from '../src/logging/create-logger';
import { median, type BenchReport } from './report';
import { SimulatorChild } from './simulator-child';
import type { StormResult } from './storm';

export interface PeerOptions {
  /** Events per no-fault throughput round. */
  events: number;
  /** Alternating throughput rounds (Slack's client, then this gateway, then the other way round). */
  rounds: number;
  /** Events per storm. */
  stormEvents: number;
  stormRatePerSec: number;
  faultEveryMs: number;
  seed: number;
  /** Link counts to storm with (each client gets the same). */
  stormLinks: number[];
}

/** What a client under test exposes to the benchmark. */
interface Peer {
  /** Event ids handed to the app's code, with how often. */
  readonly handled: Map<string, number>;
  connected(): boolean;
  stop(): Promise<void>;
}

const quiet: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

/**
 * Slack's official Socket Mode client (`@slack/socket-mode`, the reference this contract is
 * shaped after) and this gateway (in-memory inbox) on the same simulator, in its own process,
 * with alternating rounds: acknowledged events/s with no faults, and a fault storm (lost,
 * handled twice, longest time with no link to deliver on, `apps.connections.open` calls).
 */
export async function peerBenchmark(
  opts: PeerOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const slackRejections = { count: 0 };
  const onRejection = (): void => {
    // Slack's client lets a failed reconnect attempt reject unobserved; counted, not fatal here.
    slackRejections.count += 1;
  };
  process.on('unhandledRejection', onRejection);
  try {
    return await run(opts, progress, slackRejections);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
}

async function run(
  opts: PeerOptions,
  progress: (line: string) => void,
  slackRejections: { count: number },
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const notes: string[] = [];

  /** CPU µs per event, of this process (the client) and of the simulator's, by client. */
  const cpu = {
    slack: { client: [] as number[], sim: [] as number[] },
    gateway: { client: [] as number[], sim: [] as number[] },
  };
  const throughput = async (kind: 'slack' | 'gateway', count: number): Promise<number> => {
    const sim = await SimulatorChild.start(1000);
    try {
      const peer = kind === 'slack' ? await startSlack(sim, 1) : await startGateway(sim, 1);
      // The client's CPU from the first event to the last handled: acks and the handling after them.
      const before = process.cpuUsage();
      const { seconds, counters, cpuMicros } = await sim.flood(count, 1000);
      await waitUntil(() => handledCount(peer) >= count, 60_000);
      const used = process.cpuUsage(before);
      cpu[kind].client.push((used.user + used.system) / count);
      cpu[kind].sim.push(cpuMicros / count);
      await peer.stop();
      if (counters.eventsExpired > 0 || handledCount(peer) < count)
        throw new Error(
          `${kind}: ${counters.eventsExpired} expired, ${handledCount(peer)} of ${count} handled`,
        );
      return count / seconds;
    } finally {
      await sim.stop();
    }
  };

  progress('peer: warming up both clients');
  await throughput('slack', 5_000);
  await throughput('gateway', 5_000);
  for (const side of Object.values(cpu)) {
    side.client.length = 0;
    side.sim.length = 0;
  }
  const slackRates: number[] = [];
  const gatewayRates: number[] = [];
  for (let r = 1; r <= opts.rounds; r++) {
    const order: Array<'slack' | 'gateway'> = r % 2 ? ['slack', 'gateway'] : ['gateway', 'slack'];
    for (const kind of order) {
      progress(`peer round ${r}/${opts.rounds}: ${kind}, ${opts.events} events, 1 link, no faults`);
      (kind === 'slack' ? slackRates : gatewayRates).push(await throughput(kind, opts.events));
    }
  }
  const slack = median(slackRates);
  const gateway = median(gatewayRates);
  const pairRatios = gatewayRates.map((g, i) => g / (slackRates[i] ?? NaN));
  rows.push(
    { label: "Slack's @slack/socket-mode client, events/s", value: slack },
    { label: 'this gateway + in-memory inbox, events/s', value: gateway },
    {
      label: "ratio gateway / Slack's client, of the medians (target >= 1.0)",
      value: gateway / slack,
      ratio: true,
    },
    { label: 'median of the per-round ratios', value: median(pairRatios), ratio: true },
    { label: "CPU per event, Slack's client process (until handled), µs", value: median(cpu.slack.client) },
    { label: 'CPU per event, gateway process (until handled), µs', value: median(cpu.gateway.client) },
    {
      label: "ratio of CPU per event, Slack's client / gateway",
      value: median(cpu.slack.client) / median(cpu.gateway.client),
      ratio: true,
    },
    { label: "CPU per event, simulator serving Slack's client, µs", value: median(cpu.slack.sim) },
    { label: 'CPU per event, simulator serving the gateway, µs', value: median(cpu.gateway.sim) },
  );
  notes.push(
    `throughput: ${opts.events} events, 1 link, median of ${opts.rounds} alternating rounds; per round gateway/Slack: ${pairRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );

  progress(`peer: hello flood, ${HELLO_FLOOD.toLocaleString('en')} hellos on one gateway link`);
  const flood = await helloFlood(HELLO_FLOOD);
  rows.push(
    { label: 'hello flood: idle CPU of the gateway process before, %', value: flood.before.cpuPercent },
    { label: 'hello flood: idle CPU of the gateway process after, %', value: flood.after.cpuPercent },
    { label: 'hello flood: RSS before, MB', value: flood.before.rssMb },
    { label: 'hello flood: RSS after, MB', value: flood.after.rssMb },
    { label: 'hello flood: heap used after a full GC, before, MB', value: flood.before.heapMb },
    { label: 'hello flood: heap used after a full GC, after, MB', value: flood.after.heapMb },
    { label: 'hello flood: active timers before', value: flood.before.timers },
    { label: 'hello flood: active timers after', value: flood.after.timers },
  );
  notes.push(
    `hello flood: ${HELLO_FLOOD.toLocaleString('en')} repeated hellos on one link, then one event (handled: ${flood.handled}); idle figures over ${IDLE_SAMPLE_MS / 1000} s before and after, this process (the gateway's), after a full GC`,
  );

  for (const links of opts.stormLinks) {
    const order: Array<'slack' | 'gateway'> = links % 2 ? ['slack', 'gateway'] : ['gateway', 'slack'];
    for (const kind of order) {
      progress(
        `peer storm: ${kind}, ${links} link(s), ${opts.stormEvents} events, a fault every ${opts.faultEveryMs} ms`,
      );
      const s = await storm(kind, links, opts);
      const who = kind === 'slack' ? "Slack's client" : 'gateway';
      const prefix = `storm, ${who}, ${links} link${links > 1 ? 's' : ''}:`;
      rows.push(
        { label: `${prefix} lost`, value: s.lost },
        { label: `${prefix} handled twice`, value: s.handledTwice },
        { label: `${prefix} longest gap with no deliverable link, s`, value: s.result.longestGapMs / 1000 },
        {
          label: `${prefix} every link deliverable again after the storm, s`,
          value: s.result.settledMs / 1000,
        },
        {
          label: `${prefix} apps.connections.open calls`,
          value: s.result.counters.apiCalls['apps.connections.open'] ?? 0,
        },
        { label: `${prefix} 429s + governor refusals`, value: s.result.counters.ratelimited + s.refused },
        { label: `${prefix} storm duration, s`, value: s.result.seconds },
      );
      if (s.result.timedOut) notes.push(`${prefix} timed out before every event settled`);
    }
  }
  notes.push(
    `storm: ${opts.stormEvents} events at ${opts.stormRatePerSec}/s, a random fault on every link every ${opts.faultEveryMs} ms (warning, refresh_requested, abrupt close, pongs withheld 1 s, stall 1 s), seed ${opts.seed}, contract timings; lost = expired unacknowledged; a fresh simulator process per run`,
    `Slack's client: unobserved promise rejections during its runs: ${slackRejections.count}`,
  );
  return { name: "peer: Slack's Socket Mode client vs this gateway", rows, notes };
}

async function storm(
  kind: 'slack' | 'gateway',
  links: number,
  opts: PeerOptions,
): Promise<{ result: StormResult; lost: number; handledTwice: number; refused: number }> {
  const sim = await SimulatorChild.start(1000);
  try {
    const peer = kind === 'slack' ? await startSlack(sim, links) : await startGateway(sim, links);
    const result = await sim.storm({
      count: opts.stormEvents,
      ratePerSec: opts.stormRatePerSec,
      faultEveryMs: opts.faultEveryMs,
      seed: opts.seed,
      timeoutMs: 300_000,
      links,
    });
    // Handlers may finish just after the last ack.
    await waitUntil(() => handledCount(peer) >= opts.stormEvents, 10_000);
    const refused = peer instanceof GatewayPeer ? await peer.refusedOpens() : 0;
    await peer.stop();
    const handledTwice = [...peer.handled.values()].filter((n) => n > 1).length;
    const lost = opts.stormEvents - result.counters.eventsAcked;
    return { result, lost, handledTwice, refused };
  } finally {
    await sim.stop();
  }
}

const HELLO_FLOOD = 200_000;
const IDLE_SAMPLE_MS = 3_000;

interface IdleSample {
  cpuPercent: number;
  rssMb: number;
  heapMb: number;
  timers: number;
}

/** This process at rest: CPU % over `IDLE_SAMPLE_MS`, then memory after a full GC, and its timers. */
async function idleSample(): Promise<IdleSample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_SAMPLE_MS));
  const used = process.cpuUsage(before);
  const cpuPercent = ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
  gc?.();
  const mem = process.memoryUsage();
  return {
    cpuPercent,
    rssMb: mem.rss / 1e6,
    heapMb: mem.heapUsed / 1e6,
    timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
  };
}

/** A gateway link sent `count` repeated hellos: what it costs at rest, before and after. */
async function helloFlood(
  count: number,
): Promise<{ before: IdleSample; after: IdleSample; handled: number }> {
  const sim = await SimulatorChild.start(1000);
  try {
    const peer = await startGateway(sim, 1);
    const before = await idleSample();
    await sim.hellos(count);
    await waitUntil(() => handledCount(peer) >= 1, 10_000);
    const after = await idleSample();
    const handled = handledCount(peer);
    await peer.stop();
    return { before, after, handled };
  } finally {
    await sim.stop();
  }
}

function handledCount(peer: Peer): number {
  return peer.handled.size;
}

async function startSlack(sim: SimulatorChild, links: number): Promise<Peer> {
  const handled = new Map<string, number>();
  const clients = Array.from(
    { length: links },
    () =>
      new SocketModeClient({
        appToken: sim.credentials.appToken,
        logger: quiet,
        clientOptions: { slackApiUrl: sim.credentials.apiUrl },
      }),
  );
  for (const client of clients) {
    client.on('slack_event', ({ ack, body }: { ack: () => Promise<void>; body: { event_id?: string } }) => {
      void ack().then(() => {
        const id = body.event_id ?? '';
        handled.set(id, (handled.get(id) ?? 0) + 1);
      });
    });
    await client.start();
  }
  return {
    handled,
    connected: () => true,
    async stop() {
      await Promise.all(clients.map((c) => c.disconnect()));
    },
  };
}

class GatewayPeer implements Peer {
  constructor(
    readonly app: BotApp,
    readonly handled: Map<string, number>,
  ) {}
  connected(): boolean {
    return this.app.gateway.openConnections > 0;
  }
  async refusedOpens(): Promise<number> {
    const metric = await this.app.metrics.rateRefused.get();
    return metric.values
      .filter((v) => v.labels.method === 'apps.connections.open')
      .reduce((sum, v) => sum + v.value, 0);
  }
  async stop(): Promise<void> {
    await this.app.stop();
  }
}

async function startGateway(sim: SimulatorChild, links: number): Promise<Peer> {
  const config = loadConfig({});
  const handled = new Map<string, number>();
  const handler: ChatHandler = {
    handle: (event) => {
      handled.set(event.eventId, (handled.get(event.eventId) ?? 0) + 1);
      return Promise.resolve();
    },
  };
  const app = createBotApp({
    config: { ...config, rtm: { ...config.rtm, connections: links } },
    clickdesk: sim.credentials,
    logger: silentLogger(),
    handler,
  });
  const peer = new GatewayPeer(app, handled);
  await app.start();
  await waitUntil(() => app.gateway.openConnections >= links, 10_000);
  return peer;
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
