import { spawn } from 'node:child_process';
import path from 'node:path';
import type { BenchReport } from './report';

export interface MemoryOptions {
  /** Events per ingest round of the flood (the ingest benchmark's in-memory rounds). */
  events: number;
  rounds: number;
  /** Minutes of the soak (on SQLite, at `soakRate` events/s). */
  soakMinutes: number;
  soakRate: number;
}

interface Launch {
  name: string;
  /** node's arguments before the bench script. */
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

// Compiled into dist/bench, beside run.js; the launcher is the kit's bin.
const RUN = path.join(__dirname, 'run.js');
const LAUNCHER = path.join(__dirname, '../../bin/clickdesk-bot-node.js');

/**
 * Resident memory of the app as shipped (started by bin/clickdesk-bot-node, as `npm start` and
 * `npm run start:built` do; the image sets the same in its ENV) against Node's defaults, in one
 * run: each setting runs the ingest flood (in-memory inbox) and a soak (SQLite) in a process of
 * its own, since glibc's arenas can only be set before a process starts. The floods run one after
 * the other (they are CPU-bound); the soaks side by side (a steady rate, well under a core). A
 * third setting adds V8's --optimize-for-size, with what it costs in CPU per event.
 */
export async function memoryBenchmark(
  opts: MemoryOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const defaultsEnv = { ...process.env };
  delete defaultsEnv.MALLOC_ARENA_MAX;
  defaultsEnv.NODE_OPTIONS = (process.env.NODE_OPTIONS ?? '')
    .split(/\s+/)
    .filter((o) => o && !/^--max[-_](semi|old)[-_]space[-_]size/.test(o))
    .join(' ');
  const launches: Launch[] = [
    { name: "Node's defaults (before)", prefix: [], env: defaultsEnv },
    { name: 'as shipped (clickdesk-bot-node)', prefix: [LAUNCHER], env: defaultsEnv },
    // V8 sizes its heap for memory over speed; a flag NODE_OPTIONS does not take (an option, not shipped).
    { name: 'as shipped + --optimize-for-size', prefix: [LAUNCHER, '--optimize-for-size'], env: defaultsEnv },
  ];
  const flood = new Map<string, { rss: number; old: number; young: number; cpu: number; ratio: number }>();
  for (const launch of launches) {
    progress(`memory: ingest flood, ${launch.name}: ${opts.events} events x ${opts.rounds}`);
    const [report] = (await runJson(launch, [
      '--only',
      'ingest',
      '--databases',
      'none',
      '--events',
      String(opts.events),
      '--rounds',
      String(opts.rounds),
      '--json',
    ])) as BenchReport[];
    const row = (prefix: string): number =>
      report?.rows.find((r) => r.label.trimStart().startsWith(prefix))?.value ?? NaN;
    flood.set(launch.name, {
      rss: row('app peak RSS through'),
      old: row('of which old generation'),
      young: row('of which young generation'),
      cpu: row('CPU per event, app process with the in-memory inbox'),
      ratio: row('ratio gateway / baseline'),
    });
  }
  progress(`memory: soak, every setting side by side, ${opts.soakMinutes} min at ${opts.soakRate} events/s`);
  const soaks = await Promise.all(
    launches.map(async (launch) => {
      const report = (await runJson(launch, [
        'soak',
        '--minutes',
        String(opts.soakMinutes),
        '--rate',
        String(opts.soakRate),
        '--sample-seconds',
        '10',
        '--json',
      ])) as BenchReport;
      const row = (prefix: string): number =>
        report.rows.find((r) => r.label.startsWith(prefix))?.value ?? NaN;
      return {
        min: row('RSS after warm-up, min MB'),
        max: row('RSS after warm-up, max MB'),
        trend: row('RSS trend after warm-up'),
        lost: row('events lost'),
      };
    }),
  );
  const [before, shipped, sized] = launches.map((l) => flood.get(l.name)!);
  const [soakBefore, soakShipped, soakSized] = soaks;
  return {
    name: 'memory as shipped',
    rows: [
      { label: "flood: peak RSS, Node's defaults (baseline), MB", value: before!.rss },
      { label: 'flood: peak RSS, as shipped, MB (target < 150)', value: shipped!.rss },
      { label: 'flood: ratio as shipped / defaults', value: shipped!.rss / before!.rss, ratio: true },
      { label: "flood: old generation at the peak, Node's defaults, MB", value: before!.old },
      { label: 'flood: old generation at the peak, as shipped, MB', value: shipped!.old },
      { label: "flood: young generation at the peak, Node's defaults, MB", value: before!.young },
      { label: 'flood: young generation at the peak, as shipped, MB', value: shipped!.young },
      { label: "soak: RSS after warm-up, Node's defaults, min MB", value: soakBefore!.min },
      { label: "soak: RSS after warm-up, Node's defaults, max MB", value: soakBefore!.max },
      { label: 'soak: RSS after warm-up, as shipped, min MB', value: soakShipped!.min },
      { label: 'soak: RSS after warm-up, as shipped, max MB (target < 150)', value: soakShipped!.max },
      {
        label: 'soak: ratio of the maxima, as shipped / defaults',
        value: soakShipped!.max / soakBefore!.max,
        ratio: true,
      },
      { label: "soak: RSS trend, Node's defaults, MB/min", value: soakBefore!.trend },
      { label: 'soak: RSS trend, as shipped, MB/min (flat: near 0)', value: soakShipped!.trend },
      {
        label: 'soak: events lost, all settings',
        value: soakBefore!.lost + soakShipped!.lost + soakSized!.lost,
      },
      { label: "flood: app CPU per event, Node's defaults, µs", value: before!.cpu },
      { label: 'flood: app CPU per event, as shipped, µs', value: shipped!.cpu },
      { label: 'flood: events/s gateway / bare client, as shipped', value: shipped!.ratio, ratio: true },
      { label: 'with --optimize-for-size: flood peak RSS, MB', value: sized!.rss },
      { label: 'with --optimize-for-size: flood old generation at the peak, MB', value: sized!.old },
      { label: 'with --optimize-for-size: flood app CPU per event, µs', value: sized!.cpu },
      {
        label: 'with --optimize-for-size: CPU per event / as shipped',
        value: sized!.cpu / shipped!.cpu,
        ratio: true,
      },
      { label: 'with --optimize-for-size: events/s gateway / bare client', value: sized!.ratio, ratio: true },
      { label: 'with --optimize-for-size: soak RSS after warm-up, max MB', value: soakSized!.max },
    ],
    notes: [
      "as shipped: MALLOC_ARENA_MAX=2, --max-semi-space-size=2 and --max-old-space-size=256, set by bin/clickdesk-bot-node (npm start, npm run start:built) and the image's ENV; Node's defaults: none of them",
      `flood: the ingest benchmark's in-memory rounds, ${opts.events} events x ${opts.rounds}, in a process of its own per setting, one after the other`,
      `soak: ${opts.soakMinutes} min at ${opts.soakRate} events/s on SQLite, all settings at once, each with its own simulator; after the first minute (or half the run)`,
      'CPU per event: the app process, from the first event until the last is handled (the ingest benchmark figure); the gateway / bare client ratio is measured within each process',
    ],
  };
}

/** Runs the bench script under `launch` and parses the JSON it prints last. */
function runJson(launch: Launch, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...launch.prefix, RUN, ...args], {
      env: launch.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      // The soak prints its lines first; the JSON starts at a line of its own.
      const start = out.search(/^[[{]/m);
      if (code !== 0 || start < 0) reject(new Error(`${launch.name}: bench exited ${code}:\n${out}`));
      else resolve(JSON.parse(out.slice(start)));
    });
  });
}
