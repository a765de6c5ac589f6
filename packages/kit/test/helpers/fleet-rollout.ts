import { Simulator } from '@clickdesk-bot/sandbox';
import { liveEnv, readyz, spawnOutageApp, Traffic, untilReady, type OutageApp } from './outage-harness';
import { sleep, waitFor } from './wait-for';

export interface FleetRolloutOptions {
  /** PostgreSQL database every instance shares (a fresh one per run). */
  databaseUrl: string;
  /** Redis of the run's own: the rate budget and the link register. */
  redisUrl: string;
  instances: number;
  /** RTM_CONNECTIONS of each instance. */
  connections: number;
  /** The app's link cap at the simulator (and RTM_APP_LINKS). */
  cap: number;
  conversations: number;
  messagesPerConversation: number;
  /** Instances restarted in turn (SIGTERM, then a new one `restartDelayMs` later). */
  restarts: number;
  restartEveryMs: number;
  restartDelayMs: number;
  progress?: (line: string) => void;
}

export interface FleetRolloutResult {
  /** From spawning the instances until the simulator counts `cap` deliverable links. */
  startupSeconds: number;
  /** `apps.connections.open` answered by then. */
  opensAtStartup: number;
  /** The fewest deliverable links at the simulator from then until the end. */
  minDeliverable: number;
  /** Per restart: seconds from the SIGTERM until the links were back at the cap for good (0: never below). */
  backToCapSeconds: number[];
  /** The most `apps.connections.open` calls in any 60 s, and in all. */
  maxOpensPerMinute: number;
  opensTotal: number;
  /** Links at the simulator and opens so far at each moment of the run. */
  moments: Array<{ moment: string; atSeconds: number; deliverable: number; opens: number }>;
  /** Instances that held no link said so on /readyz (200, "no link by design") at some point. */
  noLinkByDesignReady: boolean;
  sent: number;
  answeredOnce: number;
  twice: number;
  unanswered: number;
  ratelimited: number;
}

/**
 * Many instances of one app, more than ClickDesk's link cap allows, on PostgreSQL + Redis, with a
 * rolling restart under visitor traffic; counted at the simulator: deliverable links over time,
 * `apps.connections.open` calls, answers, 429s. Used by the fleet test and the fleet benchmark.
 */
export async function runFleetRollout(opts: FleetRolloutOptions): Promise<FleetRolloutResult> {
  const log = opts.progress ?? (() => undefined);
  const sim = new Simulator({
    ackTimeoutMs: 800,
    maxRetries: 10_000,
    agentJoinDelayMs: -1,
    pingIntervalMs: 1_000,
    maxConnections: opts.cap,
  });
  await sim.listen(0);
  const apps: OutageApp[] = [];
  const traffic = new Traffic(sim);
  const opens = (): number => sim.counters.apiCalls['apps.connections.open'] ?? 0;
  try {
    const env = liveEnv(sim, {
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      RTM_CONNECTIONS: String(opts.connections),
      RTM_APP_LINKS: String(opts.cap),
    });
    let serial = 0;
    const spawn = (): OutageApp => {
      const app = spawnOutageApp({ ...env, INSTANCE_ID: `fleet-${++serial}` });
      apps.push(app);
      return app;
    };
    const began = Date.now();
    const moments: FleetRolloutResult['moments'] = [];
    const moment = (name: string): void => {
      const m = {
        moment: name,
        atSeconds: (Date.now() - began) / 1000,
        deliverable: sim.hub.deliverableLinks,
        opens: opens(),
      };
      moments.push(m);
      log(`${m.atSeconds.toFixed(1)} s ${name}: ${m.deliverable} deliverable links, ${m.opens} opens`);
    };
    const running = Array.from({ length: opts.instances }, () => spawn());
    const urls = new Map<OutageApp, string>();
    for (const app of running) urls.set(app, await app.url);
    await Promise.all([...urls.values()].map((u) => untilReady(u, 60_000)));
    await waitFor('the fleet holding the cap', () => sim.hub.deliverableLinks === opts.cap, 60_000, 20);
    const startedAt = Date.now();
    const startupSeconds = (startedAt - began) / 1000;
    const opensAtStartup = opens();
    moment(`all ${opts.instances} started`);
    // Let every instance's register view settle before asking them how they stand.
    await sleep(1_500);
    let noLinkByDesignReady = false;
    const checkReadiness = async (): Promise<void> => {
      for (const app of running) {
        const url = urls.get(app);
        if (!url || !app.alive()) continue;
        const r = await readyz(url);
        if (
          r.status === 200 &&
          r.body.rtm_links?.deliverable === 0 &&
          (r.body.reasons ?? []).some((x) => x.startsWith('no link by design'))
        )
          noLinkByDesignReady = true;
      }
    };
    await checkReadiness();

    traffic.open(opts.conversations);
    const total = opts.conversations * opts.messagesPerConversation;
    const sendEveryMs = 100;
    const sender = setInterval(() => {
      if (traffic.sent < total) traffic.send(1);
    }, sendEveryMs);
    const restartTimes: number[] = [];
    const restarted = new Set<OutageApp>();
    try {
      await sleep(2_000);
      for (let k = 0; k < opts.restarts; k++) {
        // A link holder that has not been restarted yet: the restart must cost the fleet links.
        let victim: OutageApp | undefined;
        for (const app of running) {
          const url = urls.get(app);
          if (!url || restarted.has(app)) continue;
          if (((await readyz(url)).body.rtm_links?.seats_held ?? 0) > 0) {
            victim = app;
            break;
          }
        }
        victim ??= running.find((a) => !restarted.has(a));
        if (!victim) break;
        restarted.add(victim);
        restartTimes.push(Date.now());
        victim.process.kill('SIGTERM');
        moment(`instance ${k + 1} stopped`);
        await sleep(opts.restartDelayMs);
        moment(`before instance ${k + 1} restarted`);
        const fresh = spawn();
        running.splice(running.indexOf(victim), 1, fresh);
        restarted.add(fresh);
        urls.set(fresh, await fresh.url);
        await untilReady(urls.get(fresh) ?? '', 30_000);
        moment(`instance ${k + 1} restarted`);
        await checkReadiness();
        await sleep(Math.max(0, (restartTimes[k] ?? 0) + opts.restartEveryMs - Date.now()));
      }
      await waitFor('every message sent', () => traffic.sent >= total, 120_000, 50);
    } finally {
      clearInterval(sender);
    }
    await waitFor('every message answered', () => traffic.tally().unanswered.length === 0, 60_000, 50);
    await sleep(1_000);
    moment('settled');
    const end = Date.now();

    const logAfter = sim.hub.linkLog.filter((e) => e.at >= startedAt);
    const minDeliverable = Math.min(sim.hub.deliverableLinks, ...logAfter.map((e) => e.deliverable));
    const backToCapSeconds = restartTimes.map((t, k) => {
      const until = restartTimes[k + 1] ?? end;
      const inWindow = sim.hub.linkLog.filter((e) => e.at >= t && e.at < until);
      let below = false;
      let back = 0;
      for (const e of inWindow) {
        if (e.deliverable < opts.cap) below = true;
        else if (below) {
          back = e.at - t;
          below = false;
        }
      }
      return below ? Number.POSITIVE_INFINITY : back / 1000;
    });
    const times = sim.hub.ticketsIssuedAt;
    let maxOpensPerMinute = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[j] ?? 0) <= (times[i] ?? 0) - 60_000) j++;
      maxOpensPerMinute = Math.max(maxOpensPerMinute, i - j + 1);
    }
    const t = traffic.tally();
    return {
      startupSeconds,
      opensAtStartup,
      minDeliverable,
      backToCapSeconds,
      maxOpensPerMinute,
      opensTotal: opens(),
      moments,
      noLinkByDesignReady,
      sent: t.sent,
      answeredOnce: t.answeredOnce,
      twice: t.twice.length,
      unanswered: t.unanswered.length,
      ratelimited: sim.counters.ratelimited,
    };
  } finally {
    for (const a of apps) a.cleanup();
    await sim.close();
  }
}
