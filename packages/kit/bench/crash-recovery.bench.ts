import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Simulator } from '@clickdesk-bot/sandbox';
import { generateMasterKeyText } from '../src/storage/crypto/master-keys';
import type { BenchReport } from './report';
import { adminQuery } from './admin-query';

export interface CrashRecoveryOptions {
  conversations: number;
  /** Visitor messages per second, all conversations together, before the kill. */
  rate: number;
  /** Seconds of traffic before the SIGKILL. */
  seconds: number;
  databaseUrl: string;
  redisUrl: string | undefined;
  kinds: Array<'sqlite' | 'postgres'>;
}

// Runs from dist/bench: the child is the crash tests' app, run from source by tsx.
const CHILD = path.join(__dirname, '../../test/fixtures/crash-app-child.ts');

export interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

export function startChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error('app child exited before it was ready')));
  });
  ready.catch(() => undefined);
  return { proc, ready, exited };
}

/**
 * Crash recovery: visitors talk to the app for a while, then one instance is SIGKILLed in the
 * middle of its work. Measured at the simulator: seconds from the kill until every visitor
 * message is answered, answers posted twice, and 429s. PostgreSQL: two instances sharing the
 * database and (with Redis) the rate budget, the killed one never comes back, so the survivor
 * takes its leases over once they run out (15 s, the default). SQLite: one instance, restarted
 * at once with the same INSTANCE_ID, so it takes its own leases back.
 */
export async function crashRecoveryBenchmark(
  opts: CrashRecoveryOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const notes: string[] = [];
  for (const kind of opts.kinds) {
    const base = await oneRun(kind, opts, false, progress);
    const r = await oneRun(kind, opts, true, progress);
    const label =
      kind === 'postgres'
        ? 'PostgreSQL + Redis, 2 instances, one killed for good'
        : 'SQLite, 1 instance, restarted';
    rows.push(
      { label: `${label}: no kill, backlog answered after, s (baseline)`, value: base.seconds },
      { label: `${label}: SIGKILL → every message answered, s`, value: r.seconds },
      { label: `${label}: answers expected`, value: r.expected },
      { label: `${label}: answered twice`, value: r.twice + base.twice },
      { label: `${label}: unanswered`, value: r.missing + base.missing },
      { label: `${label}: 429s from the simulator, baseline`, value: base.ratelimited },
      { label: `${label}: 429s from the simulator, with SIGKILL`, value: r.ratelimited },
    );
  }
  notes.push(
    `${opts.conversations} conversations, ${opts.rate} visitor messages/s for ${opts.seconds} s (above the 1 reply/s per conversation limit, so a backlog waits), then SIGKILL of an instance; times run from that moment; 15 s leases`,
  );
  return { name: 'crash recovery (exactly-once replies)', rows, notes };
}

async function oneRun(
  kind: 'sqlite' | 'postgres',
  opts: CrashRecoveryOptions,
  kill: boolean,
  progress: (line: string) => void,
): Promise<{ seconds: number; expected: number; twice: number; missing: number; ratelimited: number }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-bench-crash-'));
  const schema = kind === 'postgres' ? `bench_${randomBytes(5).toString('hex')}` : '';
  const admin = (sql: string): Promise<void> => adminQuery(opts.databaseUrl, sql);
  if (schema) await admin(`CREATE SCHEMA ${schema}`);
  const masterKey = generateMasterKeyText();
  const sim = new Simulator({ agentJoinDelayMs: -1, maxRetries: 1_000 });
  await sim.listen(0);
  const env = (instanceId: string): Record<string, string> => ({
    SIM_API_URL: sim.apiUrl,
    STORAGE: kind,
    DATA_DIR: dataDir,
    DATABASE_URL: opts.databaseUrl,
    PG_SCHEMA: schema,
    MASTER_KEY: masterKey,
    INSTANCE_ID: instanceId,
    LEASE_MS: '15000',
    REDIS_URL: kind === 'postgres' ? (opts.redisUrl ?? '') : '',
    FAULT_POINT: '',
  });
  const children: Child[] = [];
  try {
    const a = startChild(env('bench-a'));
    children.push(a);
    await a.ready;
    if (kind === 'postgres') {
      const b = startChild(env('bench-b'));
      children.push(b);
      await b.ready;
    }
    const conversations = Array.from(
      { length: opts.conversations },
      (_, i) => sim.startVisitorChat(`V${i}`).conversationId,
    );
    const expected = new Set(conversations.map((c) => `greet:${c}`));
    const total = Math.round(opts.rate * opts.seconds);
    progress(
      `crash recovery (${kind}, ${kill ? 'SIGKILL' : 'baseline'}): ${total} visitor messages over ${opts.seconds} s`,
    );
    for (let i = 0; i < total; i++) {
      const c = conversations[i % conversations.length]!;
      sim.visitorSays(c, `q:${c}-${i}`);
      expected.add(`a:${c}-${i}`);
      await new Promise((r) => setTimeout(r, 1000 / opts.rate));
    }
    const killedAt = process.hrtime.bigint();
    if (kill) a.proc.kill('SIGKILL');
    if (kill) await a.exited;
    if (kill && kind === 'sqlite') {
      const again = startChild(env('bench-a'));
      children.push(again);
    }
    const count = (): Map<string, number> => {
      const byText = new Map<string, number>();
      for (const c of conversations)
        for (const m of sim.world.history(c))
          if (m.sender.kind === 'bot') byText.set(m.text, (byText.get(m.text) ?? 0) + 1);
      return byText;
    };
    const deadline = Date.now() + 120_000;
    const answeredAll = (): boolean => {
      const byText = count();
      return [...expected].every((t) => byText.has(t));
    };
    while (!answeredAll() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const seconds = Number(process.hrtime.bigint() - killedAt) / 1e9;
    await new Promise((r) => setTimeout(r, 2_000)); // a late duplicate would land meanwhile
    const byText = count();
    return {
      seconds,
      expected: expected.size,
      twice: [...byText.values()].filter((n) => n > 1).length,
      missing: [...expected].filter((t) => !byText.has(t)).length,
      ratelimited: sim.counters.ratelimited,
    };
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await admin(`DROP SCHEMA ${schema} CASCADE`);
  }
}
