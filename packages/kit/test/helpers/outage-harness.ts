import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Simulator } from '@clickdesk-bot/sandbox';
import { generateMasterKeyText } from '../../src/storage/crypto/master-keys';

// From source (jest), or from dist/test/helpers (the built benchmarks): the child runs from source under tsx.
const KIT_ROOT = path.join(__dirname, __dirname.split(path.sep).includes('dist') ? '../../..' : '../..');
const CHILD = path.join(KIT_ROOT, 'test/fixtures/outage-app-child.ts');

/** The app (test/fixtures/outage-app-child.ts, the real `runBot`) in a child process, live against a simulator. */
export interface OutageApp {
  readonly process: ChildProcess;
  /** The app's HTTP base URL, once it has started. */
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  output(): string;
  cleanup(): void;
}

/**
 * A receipt signing key file for every instance started from one environment: instances sharing
 * a database must sign with one key (a second key refuses to start), as a deployment's Secret gives
 * them. Ed25519 in libsodium's form: base64 of the seed and the public key.
 */
function sharedSigningKeyFile(): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cdbs-outage-key-')), 'receipt-signing.key');
  writeFileSync(file, `${Buffer.concat([seed, pub]).toString('base64')}\n`, { mode: 0o600 });
  return file;
}

/** The environment of a live app talking to `sim`, with a master key and a receipt signing key for all its instances. */
export function liveEnv(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLICKDESK_API_URL: sim.apiUrl,
    CLICKDESK_APP_TOKEN: 'xapp-sandbox-app-token',
    CLICKDESK_BOT_TOKEN: 'xoxb-sandbox-bot-token',
    WEBHOOK_SECRETS: `whsec_${randomBytes(32).toString('base64')}`,
    MASTER_KEY: generateMasterKeyText(),
    RECEIPT_SIGNING_KEY_FILE: sharedSigningKeyFile(),
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
    RTM_BACKOFF_BASE_MS: '50',
    RTM_BACKOFF_MAX_MS: '1000',
    ...extra,
  };
}

export function spawnOutageApp(env: Record<string, string>): OutageApp {
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'cdbs-outage-'));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: path.join(KIT_ROOT, '../..'),
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  const onData = (d: Buffer): void => {
    out += d.toString();
    const started = /"http":"(http:\/\/[^"]+)"[^\n]*"msg":"app started"/.exec(out);
    if (started?.[1]) resolveUrl(started[1]);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = Promise.race([
    url,
    exited.then(({ code }) =>
      Promise.reject(new Error(`the app exited (${code}) before it started:\n${out.slice(-3000)}`)),
    ),
  ]);
  started.catch(() => undefined); // awaited by the tests that expect a start
  return {
    process: child,
    url: started,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => out,
    cleanup: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What /readyz answers (the fields the tests read). */
export interface ReadyzBody {
  ok?: boolean;
  reasons?: string[];
  rtm_links?: { deliverable: number; wanted: number; seats_held: number; fleet_seats_held: number | null };
}

export async function readyz(url: string): Promise<{ status: number; body: ReadyzBody }> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.json()) as ReadyzBody };
  } catch (err) {
    return { status: 0, body: { reasons: [(err as Error).message] } };
  }
}

/** Resolves once /readyz says 200. */
export async function untilReady(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await readyz(url);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz still ${status}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** /readyz polled every `everyMs`: the statuses in order, with the reasons of each change. */
export function watchReadiness(
  url: string,
  everyMs = 200,
): { transitions: Array<{ at: number; status: number; reasons: string[] }>; stop: () => void } {
  const transitions: Array<{ at: number; status: number; reasons: string[] }> = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const { status, body } = await readyz(url);
      if (transitions.at(-1)?.status !== status)
        transitions.push({ at: Date.now(), status, reasons: body.reasons ?? [] });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { transitions, stop: () => (stopped = true) };
}

/**
 * Visitor traffic counted at the simulator: conversations opened at once, then `q:<n>` messages
 * round-robin, each expecting exactly one `a:<n>`.
 */
export class Traffic {
  readonly conversations: string[] = [];
  private readonly sentAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly sim: Simulator) {}

  open(count: number): void {
    for (let i = 0; i < count; i++)
      this.conversations.push(this.sim.startVisitorChat(`V${i}`).conversationId);
  }

  /** Sends `perTick` messages every `everyMs` until `stop`. */
  start(everyMs: number, perTick = 1): void {
    this.timer = setInterval(() => this.send(perTick), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  send(count: number): void {
    for (let i = 0; i < count; i++) {
      const c = this.conversations[this.n % this.conversations.length] ?? '';
      const id = `${c}-${++this.n}`;
      this.sentAt.set(id, Date.now());
      this.sim.visitorSays(c, `q:${id}`);
    }
  }

  get sent(): number {
    return this.sentAt.size;
  }

  /** Answers counted at the simulator: greetings and `a:` replies, each expected once. */
  tally(): {
    sent: number;
    answeredOnce: number;
    twice: string[];
    unanswered: string[];
    unexpected: string[];
  } {
    const expected = new Set<string>([
      ...this.conversations.map((c) => `greet:${c}`),
      ...[...this.sentAt.keys()].map((id) => `a:${id}`),
    ]);
    const seen = new Map<string, number>();
    for (const c of this.conversations)
      for (const m of this.sim.world.history(c))
        if (m.sender.kind === 'bot') seen.set(m.text, (seen.get(m.text) ?? 0) + 1);
    return {
      sent: this.sentAt.size,
      answeredOnce: [...seen].filter(([t, k]) => k === 1 && expected.has(t) && t.startsWith('a:')).length,
      twice: [...seen].filter(([, k]) => k > 1).map(([t]) => t),
      unanswered: [...expected].filter((t) => !seen.has(t)),
      unexpected: [...seen.keys()].filter((t) => !expected.has(t)),
    };
  }

  /** When each `a:` reply was stored at the simulator (ms), by the message it answers. */
  answeredAt(): Map<string, number> {
    const at = new Map<string, number>();
    for (const c of this.conversations)
      for (const m of this.sim.world.history(c))
        if (m.sender.kind === 'bot' && m.text.startsWith('a:')) at.set(m.text.slice(2), Number(m.ts) * 1000);
    return at;
  }

  /** When each message was sent (ms), by its id. */
  sentTimes(): ReadonlyMap<string, number> {
    return this.sentAt;
  }

  /** Bot replies posted so far (all conversations). */
  replies(): number {
    let n = 0;
    for (const c of this.conversations) n += this.sim.world.countBy(c, 'bot');
    return n;
  }
}

/** Figures for the report, on stderr (jest shows it beside the test). */
export function report(name: string, figures: Record<string, unknown>): void {
  process.stderr.write(`[${name}] ${JSON.stringify(figures)}\n`);
}
