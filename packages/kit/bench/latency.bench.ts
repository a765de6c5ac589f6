import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Simulator } from '@clickdesk-bot/sandbox';
import { generateMasterKeyText } from '../src/storage/crypto/master-keys';
import { percentile } from './bench-app';
import { DelayProxy } from './delay-proxy';
import type { BenchReport } from './report';
import { adminQuery } from './admin-query';

export interface LatencyOptions {
  conversations: number;
  /** Visitor messages a second, all conversations together, round-robin. */
  rate: number;
  /** Seconds of steady traffic per run (after a warm-up message in each conversation). */
  seconds: number;
  /** The rate offered in each run behind the delaying proxy, by position in `proxyDelaysMs`. */
  proxyRates: number[];
  /** One-way delays of the proxy runs, ms (a round trip is twice that); empty: skip them. */
  proxyDelaysMs: number[];
  /** How long a run waits for the last answers after its traffic ends. */
  drainSeconds: number;
  kinds: Array<'sqlite' | 'postgres'>;
  databaseUrl: string;
}

type Kind = 'memory' | 'sqlite' | 'postgres';

interface RunResult {
  /** Visitor message accepted by the simulator → the bot's answer stored there, ms; unanswered at the end count as their wait so far. */
  latencies: number[];
  sent: number;
  unanswered: number;
  twice: number;
  /** Answers stored a second, from the first message sent until the last answer (or the drain deadline). */
  repliesPerSec: number;
  /** Chunks the app sent to PostgreSQL through the proxy, per visitor message (NaN without the proxy). */
  roundTripsPerEvent: number;
}

// Compiled beside this file into dist/bench.
const CHILD = path.join(__dirname, 'latency-app-child.js');
/** ClickDesk's team-wide chat.postMessage budget is raised here and in the child (the bench measures the app). */
const POST_LIMIT = 1_000_000;

/**
 * Visitor-perceived reply latency, counted at the simulator: visitors in `conversations` chats
 * write at a steady `rate`; each message's wait runs from the simulator accepting it to the bot's
 * answer being stored there. The app runs as a child process (as deployed) on in-memory storage
 * (the baseline), SQLite and PostgreSQL, in one run; then once per durable database with a SIGKILL
 * and an immediate restart halfway through (the slowest visitor's wait); then on PostgreSQL behind
 * a proxy adding a round-trip delay, counting the round trips each event costs.
 */
export async function latencyBenchmark(
  opts: LatencyOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures = (label: string, r: RunResult): void => {
    rows.push(
      { label: `${label}: p50, ms`, value: percentile(r.latencies, 50) },
      { label: `${label}: p95, ms`, value: percentile(r.latencies, 95) },
      { label: `${label}: p99, ms`, value: percentile(r.latencies, 99) },
      { label: `${label}: max, ms`, value: percentile(r.latencies, 100) },
      { label: `${label}: replies/s`, value: r.repliesPerSec },
      { label: `${label}: unanswered, answered twice`, value: r.unanswered + r.twice },
    );
  };
  const runOne = (kind: Kind, name: string, extra: { kill?: boolean; proxyMs?: number; rate?: number }) => {
    progress(`latency: ${name}`);
    return oneRun(kind, { ...opts, rate: extra.rate ?? opts.rate }, extra.kill ?? false, extra.proxyMs);
  };

  const memory = await runOne('memory', 'in-memory', {});
  figures('in-memory (baseline)', memory);
  for (const kind of opts.kinds) {
    const r = await runOne(kind, kind, {});
    figures(kind, r);
    rows.push({
      label: `${kind}: ratio p99 / in-memory p99 (target <= 1.5)`,
      value: percentile(r.latencies, 99) / percentile(memory.latencies, 99),
      ratio: true,
    });
  }
  for (const kind of opts.kinds) {
    const r = await runOne(kind, `${kind}, SIGKILL + restart`, { kill: true });
    const label = `${kind}, SIGKILL + restart halfway`;
    rows.push(
      { label: `${label}: slowest visitor's wait, s`, value: percentile(r.latencies, 100) / 1000 },
      { label: `${label}: p99, ms`, value: percentile(r.latencies, 99) },
      { label: `${label}: p50, ms`, value: percentile(r.latencies, 50) },
      { label: `${label}: unanswered`, value: r.unanswered },
      { label: `${label}: answered twice`, value: r.twice },
    );
  }
  if (opts.kinds.includes('postgres'))
    for (const [i, oneWay] of opts.proxyDelaysMs.entries()) {
      const label = `postgres, ${oneWay * 2} ms round trips (proxy)`;
      const rate = opts.proxyRates[i] ?? opts.proxyRates[opts.proxyRates.length - 1] ?? opts.rate;
      const r = await runOne('postgres', label, { proxyMs: oneWay, rate });
      rows.push(
        { label: `${label}: replies/s (${rate} offered)`, value: r.repliesPerSec },
        { label: `${label}: p50, ms`, value: percentile(r.latencies, 50) },
        { label: `${label}: p99, ms`, value: percentile(r.latencies, 99) },
        { label: `${label}: unanswered after the drain`, value: r.unanswered },
        { label: `${label}: round trips per event`, value: r.roundTripsPerEvent },
      );
    }
  return {
    name: 'reply latency',
    rows,
    notes: [
      `${opts.conversations} conversations, ${opts.rate} visitor messages/s round-robin for ${opts.seconds} s after one warm-up message each; the app (a child process, default settings) answers each; measured at the simulator (in the bench process), from accepting a visitor message to storing the answer`,
      "ClickDesk's chat.postMessage limits raised in the simulator and the app: the figures are the app's path, not the rate budget",
      `SIGKILL + restart: the app is killed halfway through the traffic and started again at once with the same instance id; the slowest visitor's wait is the longest latency of the run`,
      `proxy: PostgreSQL behind a TCP proxy in the bench holding each chunk the given one-way delay (at least; timers fire on whole ms); round trips per event = chunks the app sent to the server during the traffic and its drain / visitor messages (background work included); ${opts.proxyRates.join(' / ')} messages/s offered (the goals: 200 replies/s at 5 ms round trips, 50 at 50 ms); answers not stored ${opts.drainSeconds} s after the traffic ends are unanswered and count with their wait so far`,
    ],
  };
}

async function oneRun(
  kind: Kind,
  opts: LatencyOptions,
  kill: boolean,
  proxyMs: number | undefined,
): Promise<RunResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-bench-latency-'));
  const schema = kind === 'postgres' ? `bench_${randomBytes(5).toString('hex')}` : '';
  const admin = (sql: string): Promise<void> => adminQuery(opts.databaseUrl, sql);
  if (schema) await admin(`CREATE SCHEMA ${schema}`);
  let proxy: DelayProxy | undefined;
  let databaseUrl = opts.databaseUrl;
  if (proxyMs !== undefined) {
    const url = new URL(opts.databaseUrl);
    proxy = await DelayProxy.start({ host: url.hostname, port: Number(url.port || 5432) }, proxyMs);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    databaseUrl = url.toString();
  }
  const sim = new Simulator({
    agentJoinDelayMs: -1,
    maxRetries: 1_000,
    limits: { 'chat.postMessage': POST_LIMIT },
    postMessagePerConversation: { ratePerSec: 1_000, burst: 1_000 },
  });
  await sim.listen(0);
  const env = {
    ...process.env,
    SIM_API_URL: sim.apiUrl,
    STORAGE: kind,
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    PG_SCHEMA: schema,
    MASTER_KEY: generateMasterKeyText(),
    INSTANCE_ID: 'bench-latency',
  };
  const children: Array<{ proc: ChildProcess; exited: Promise<unknown> }> = [];
  const startApp = (): { proc: ChildProcess; ready: Promise<void> } => {
    const proc = spawn(process.execPath, [CHILD], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => proc.once('exit', r));
    children.push({ proc, exited });
    const ready = new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      proc.once('exit', () => reject(new Error('the app exited before it was ready')));
    });
    ready.catch(() => undefined);
    return { proc, ready };
  };

  const sentAt = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  let twice = 0;
  try {
    const first = startApp();
    await first.ready;
    const conversations = Array.from({ length: opts.conversations }, (_, i) => {
      const { conversationId } = sim.startVisitorChat(`Visitor ${i}`);
      sim.world.subscribe(conversationId, (m) => {
        if (m.sender.kind !== 'bot' || !m.text.startsWith('a:')) return;
        const key = m.text.slice(2);
        if (answeredAt.has(key)) twice += 1;
        else answeredAt.set(key, performance.now());
      });
      return conversationId;
    });
    const say = (c: string, key: string): void => {
      sim.visitorSays(c, `q:${key}`);
      sentAt.set(key, performance.now());
    };
    const waitAnswered = async (keys: string[], ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (keys.some((k) => !answeredAt.has(k)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
    };

    // Warm-up: one message per conversation, answered before the clock starts.
    const warm = conversations.map((c, i) => {
      say(c, `w${i}`);
      return `w${i}`;
    });
    await waitAnswered(warm, opts.drainSeconds * 1000);
    if (proxy) proxy.chunksToServer = 0;

    const total = Math.round(opts.rate * opts.seconds);
    const keys: string[] = [];
    const started = performance.now();
    for (let i = 0; i < total;) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.rate) + 1);
      for (; i < due; i++) {
        const key = `m${i}`;
        say(conversations[i % conversations.length]!, key);
        keys.push(key);
        if (kill && i === Math.floor(total / 2)) {
          const victim = children.at(-1)!;
          victim.proc.kill('SIGKILL');
          await victim.exited;
          startApp();
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await waitAnswered(keys, opts.drainSeconds * 1000);
    const ended = performance.now();
    const answered = keys.filter((k) => answeredAt.has(k));
    const lastAnswer = Math.max(...answered.map((k) => answeredAt.get(k)!));
    const window = (keys.length === answered.length ? lastAnswer : ended) - started;
    return {
      latencies: keys.map((k) => (answeredAt.get(k) ?? ended) - sentAt.get(k)!),
      sent: keys.length,
      unanswered: keys.length - answered.length,
      twice,
      repliesPerSec: answered.length / (window / 1000),
      roundTripsPerEvent: proxy ? proxy.chunksToServer / keys.length : NaN,
    };
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await sim.close();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await admin(`DROP SCHEMA ${schema} CASCADE`);
  }
}
