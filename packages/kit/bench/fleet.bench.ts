import { randomBytes } from 'node:crypto';
import { runFleetRollout } from '../test/helpers/fleet-rollout';
import { PrivateRedis } from '../test/helpers/private-services';
import type { BenchReport } from './report';
import { adminQuery } from './admin-query';

export interface FleetBenchOptions {
  /** PostgreSQL server to create the run's own database on. */
  databaseUrl: string;
  instances: number;
  connections: number;
}

/**
 * Many instances, one app: more instances than ClickDesk's link cap allows (10 links, 20 opens a
 * minute per app), on PostgreSQL and a Redis of the bench's own, with a rolling restart of three
 * under visitor traffic. Counted at the simulator: deliverable links over time, opens, answers, 429s.
 */
export async function fleetBenchmark(
  opts: FleetBenchOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const admin = (sql: string): Promise<void> => adminQuery(opts.databaseUrl, sql);
  const database = `bench_fleet_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${database}`);
  const redis = await PrivateRedis.create();
  try {
    const cap = 10;
    const r = await runFleetRollout({
      databaseUrl: opts.databaseUrl.replace(/\/[^/]*$/, `/${database}`),
      redisUrl: redis.url,
      instances: opts.instances,
      connections: opts.connections,
      cap,
      conversations: 20,
      messagesPerConversation: 20,
      restarts: 3,
      restartEveryMs: 8_000,
      restartDelayMs: 2_000,
      progress: (line) => progress(`fleet: ${line}`),
    });
    const label = `${opts.instances} instances × ${opts.connections} links, cap ${cap}`;
    return {
      name: 'fleet: many instances, one app, a rolling restart',
      rows: [
        { label: `${label}: start-up until ${cap} deliverable links, s`, value: r.startupSeconds },
        { label: `${label}: apps.connections.open at start-up`, value: r.opensAtStartup },
        { label: `${label}: fewest deliverable links after start-up`, value: r.minDeliverable },
        ...r.backToCapSeconds.map((s, k) => ({
          label: `${label}: restart ${k + 1}, SIGTERM → ${cap} deliverable links again, s`,
          value: s,
        })),
        { label: `${label}: most apps.connections.open in any 60 s`, value: r.maxOpensPerMinute },
        { label: `${label}: apps.connections.open in all`, value: r.opensTotal },
        { label: `${label}: visitor messages`, value: r.sent },
        { label: `${label}: answered once`, value: r.answeredOnce },
        { label: `${label}: answered twice`, value: r.twice },
        { label: `${label}: unanswered`, value: r.unanswered },
        { label: `${label}: 429s from the simulator`, value: r.ratelimited },
      ],
      notes: [
        `PostgreSQL + Redis; ${opts.instances * opts.connections} links wanted against the simulator's cap of ${cap} per app (RTM_APP_LINKS=${cap}); 20 conversations × 20 visitor messages at 10/s; a rolling restart of three link-holding instances: SIGTERM, a new instance 2 s later, every 8 s (later if the new one takes longer to be ready)`,
        `at the simulator, (deliverable links, opens so far): ${r.moments.map((m) => `${m.moment} at ${m.atSeconds.toFixed(0)} s (${m.deliverable}, ${m.opens})`).join('; ')}`,
        `instances without a link answered /readyz 200 with "no link by design": ${r.noLinkByDesignReady ? 'yes' : 'no'}`,
      ],
    };
  } finally {
    await redis.kill();
    await admin(`DROP DATABASE ${database} WITH (FORCE)`);
  }
}
