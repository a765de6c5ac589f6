import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Simulator } from '@clickdesk-bot/sandbox';
import { generateMasterKeyText } from '../src/storage/crypto/master-keys';
import { startChild, type Child } from './crash-recovery.bench';
import type { BenchReport } from './report';
import { adminQuery } from './admin-query';
import { installTeams } from './install-teams';

export interface KillStormOptions {
  /** SIGKILLs spread over the traffic. */
  kills: number;
  /** Seconds of traffic. */
  seconds: number;
  /** Visitor messages per second, all conversations together. */
  rate: number;
  conversations: number;
  /**
   * Teams the app is installed in, the conversations spread over them (1: the sandbox team and
   * its static token). Each team has its own 600 `chat.postMessage` a minute (contract §1), so a
   * rate above ~9 a second needs several.
   */
  teams: number;
  databaseUrl: string;
  kinds: Array<'sqlite' | 'postgres'>;
  /**
   * Also kill at the worst moment: this many SIGKILLs, each right after ClickDesk stored one of
   * the app's replies and before the app learned it had (0: skip).
   */
  worstMomentKills: number;
  /** Visitor messages of the worst-moment run, at `worstMomentRate` in one team. */
  worstMomentMessages: number;
  worstMomentRate: number;
}

interface StormRun {
  /** From the last kill (or the end of traffic, without kills) until every message is answered. */
  seconds: number;
  kills: number;
  expected: number;
  twice: number;
  missing: number;
  ratelimited: number;
  historyCalls: number;
}

/**
 * A crash storm: one instance takes visitor messages at a steady rate while it is SIGKILLed
 * again and again, restarted at once each time with the same INSTANCE_ID (its own leases come
 * back at once). Every kill leaves sends of unknown outcome; their echoes settle them, and only
 * the ones that never reached ClickDesk cost a `conversations.history` call (50 a minute).
 * Counted at the simulator, beside the same traffic with no kill.
 */
export async function killStormBenchmark(
  opts: KillStormOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const load: number[] = [];
  for (const kind of opts.kinds) {
    const base = await oneStorm(kind, { ...opts, kills: 0 }, progress);
    const r = await oneStorm(kind, opts, progress);
    load.push(os.loadavg()[0] ?? 0);
    const label = `${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${opts.kills} SIGKILLs in ${opts.seconds} s at ${opts.rate} messages/s`;
    rows.push(
      {
        label: `${kind}: no kill, every message answered after the traffic, s (baseline)`,
        value: base.seconds,
      },
      { label: `${label}: every message answered after the last kill, s`, value: r.seconds },
      { label: `${label}: that / the baseline`, value: r.seconds / base.seconds, ratio: true },
      { label: `${label}: answers expected`, value: r.expected },
      { label: `${label}: answered twice`, value: r.twice + base.twice },
      { label: `${label}: unanswered`, value: r.missing + base.missing },
      { label: `${label}: 429s from the simulator`, value: r.ratelimited + base.ratelimited },
      { label: `${label}: conversations.history calls`, value: r.historyCalls },
    );
    if (opts.worstMomentKills > 0) {
      const w = await oneStorm(
        kind,
        {
          ...opts,
          rate: opts.worstMomentRate,
          teams: 1,
          conversations: Math.min(opts.conversations, 100),
          seconds: opts.worstMomentMessages / opts.worstMomentRate,
        },
        progress,
        opts.worstMomentKills,
      );
      const worst = `${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${w.kills} SIGKILLs right after ClickDesk stored a reply, ${opts.worstMomentMessages} messages`;
      rows.push(
        { label: `${worst}: every message answered after the last kill, s`, value: w.seconds },
        { label: `${worst}: answers expected`, value: w.expected },
        { label: `${worst}: answered twice`, value: w.twice },
        { label: `${worst}: unanswered`, value: w.missing },
        { label: `${worst}: 429s from the simulator`, value: w.ratelimited },
        { label: `${worst}: conversations.history calls`, value: w.historyCalls },
      );
    }
  }
  return {
    name: 'crash storm (SIGKILLs under traffic)',
    rows,
    notes: [
      `load average (1 min) at the end of each storm with kills: ${load.map((l) => l.toFixed(1)).join(', ')} on ${os.cpus().length} cores; the app, the simulator and the database share them`,
      `${opts.conversations} conversations in ${opts.teams} team${opts.teams === 1 ? '' : 's'}, ${opts.rate} visitor messages/s for ${opts.seconds} s; ${opts.kills} SIGKILLs evenly spread, each followed at once by a restart with the same instance id; 15 s leases; counted at the simulator`,
      ...(opts.worstMomentKills > 0
        ? [
            `worst moment: ${opts.worstMomentMessages} visitor messages at ${opts.worstMomentRate}/s in one team; the simulator SIGKILLs the app as it stores one bot reply in every ${Math.floor(opts.worstMomentMessages / opts.worstMomentKills)} (${opts.worstMomentKills} kills), before the app hears the answer; restarted at once`,
          ]
        : []),
    ],
  };
}

/**
 * One run: `opts.kills` SIGKILLs spread over the traffic, or with `worstMoment` that many kills
 * each as the simulator stores a bot reply (every n-th), instead.
 */
async function oneStorm(
  kind: 'sqlite' | 'postgres',
  opts: KillStormOptions,
  progress: (line: string) => void,
  worstMoment = 0,
): Promise<StormRun> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-bench-killstorm-'));
  const schema = kind === 'postgres' ? `bench_${randomBytes(5).toString('hex')}` : '';
  const admin = (sql: string): Promise<void> => adminQuery(opts.databaseUrl, sql);
  if (schema) await admin(`CREATE SCHEMA ${schema}`);
  const sim = new Simulator({ agentJoinDelayMs: -1, maxRetries: 1_000 });
  await sim.listen(0);
  const masterKey = generateMasterKeyText();
  const teams =
    opts.teams > 1
      ? await installTeams(
          sim,
          {
            kind,
            dataDir,
            databaseUrl: opts.databaseUrl,
            pgSchema: schema,
            masterKeys: { key: masterKey, previous: [] },
          },
          opts.teams,
        )
      : [sim.team.id];
  const env: Record<string, string> = {
    SIM_API_URL: sim.apiUrl,
    STORAGE: kind,
    DATA_DIR: dataDir,
    DATABASE_URL: opts.databaseUrl,
    PG_SCHEMA: schema,
    MASTER_KEY: masterKey,
    INSTANCE_ID: 'storm-a',
    LEASE_MS: '15000',
    REDIS_URL: '',
    FAULT_POINT: '',
    INSTALLATIONS: opts.teams > 1 ? '1' : '',
  };
  const children: Child[] = [];
  const start = (): Child => {
    const child = startChild(env);
    children.push(child);
    return child;
  };
  try {
    let current = start();
    await current.ready;
    const conversations = Array.from(
      { length: opts.conversations },
      (_, i) => sim.startVisitorChat(`V${i}`, '', '', teams[i % teams.length]).conversationId,
    );
    const expected = new Set(conversations.map((c) => `greet:${c}`));
    const total = Math.round(opts.rate * opts.seconds);
    progress(
      worstMoment > 0
        ? `crash storm (${kind}): ${total} visitor messages, up to ${worstMoment} SIGKILLs as ClickDesk stores a reply`
        : `crash storm (${kind}): ${total} visitor messages over ${opts.seconds} s in ${teams.length} team(s), ${opts.kills} SIGKILLs`,
    );
    const began = Date.now();
    const killEveryMs = opts.kills > 0 && worstMoment === 0 ? (opts.seconds * 1000) / opts.kills : Infinity;
    let kills = 0;
    let lastKill = process.hrtime.bigint();
    const killEveryReply = worstMoment > 0 ? Math.floor(total / worstMoment) : Infinity;
    let botReplies = 0;
    let restarting: Promise<void> | undefined;
    const unsubscribe = conversations.map((c) =>
      sim.world.subscribe(c, (m) => {
        if (m.sender.kind !== 'bot' || !m.text.startsWith('a:')) return;
        botReplies += 1;
        if (
          kills >= worstMoment ||
          botReplies % killEveryReply !== Math.floor(killEveryReply / 2) ||
          restarting
        )
          return;
        // The reply is stored at ClickDesk; the app has not heard its answer yet.
        kills += 1;
        const victim = current;
        victim.proc.kill('SIGKILL');
        restarting = victim.exited.then(() => {
          lastKill = process.hrtime.bigint();
          current = start();
          restarting = undefined;
        });
      }),
    );
    for (let i = 0; i < total; i++) {
      const c = conversations[i % conversations.length]!;
      sim.visitorSays(c, `q:${c}-${i}`);
      expected.add(`a:${c}-${i}`);
      if (kills < opts.kills && Date.now() - began >= (kills + 1) * killEveryMs) {
        kills += 1;
        current.proc.kill('SIGKILL');
        await current.exited;
        lastKill = process.hrtime.bigint();
        current = start();
      }
      const due = began + ((i + 1) * 1000) / opts.rate;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
    await restarting;
    const from = kills > 0 ? lastKill : process.hrtime.bigint();
    const count = (): Map<string, number> => {
      const byText = new Map<string, number>();
      for (const c of conversations)
        for (const m of sim.world.history(c))
          if (m.sender.kind === 'bot') byText.set(m.text, (byText.get(m.text) ?? 0) + 1);
      return byText;
    };
    const deadline = Date.now() + 180_000;
    // One count per look: the simulator shares this process, so the watcher must stay cheap.
    const unanswered = (): number => {
      const byText = count();
      let n = 0;
      for (const t of expected) if (!byText.has(t)) n += 1;
      return n;
    };
    let lastReport = Date.now();
    for (let left = unanswered(); left > 0 && Date.now() < deadline; left = unanswered()) {
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        progress(`crash storm (${kind}): ${left} of ${expected.size} still unanswered`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = Number(process.hrtime.bigint() - from) / 1e9;
    await new Promise((r) => setTimeout(r, 2_000)); // a late duplicate would land meanwhile
    unsubscribe.forEach((u) => u());
    const byText = count();
    return {
      seconds,
      kills,
      expected: expected.size,
      twice: [...byText.values()].filter((n) => n > 1).length,
      missing: [...expected].filter((t) => !byText.has(t)).length,
      ratelimited: sim.counters.ratelimited,
      historyCalls: sim.counters.apiCalls['conversations.history'] ?? 0,
    };
  } finally {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await admin(`DROP SCHEMA ${schema} CASCADE`);
  }
}
