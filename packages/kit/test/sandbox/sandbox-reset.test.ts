import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FaqHandler, TEST_FAQ as faq } from '../helpers/faq-handler';
import { wireSandboxInstalls } from '../../src/sandbox-mode/sandbox-installs';
import type { SimulatorCounters } from '@clickdesk-bot/sandbox';
import { Simulator } from '@clickdesk-bot/sandbox';
import { WHOLE_TEAM } from '../../src/storage/sql/tombstones';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { startSandboxPair } from '../helpers/sandbox-pair';
import { STORAGE_KINDS } from '../helpers/storage-fixtures';
import { MAIN_CHILD, REPO_ROOT } from '../helpers/spawn-main';
import { waitFor } from '../helpers/wait-for';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(STORAGE_KINDS)('POST /sandbox/reset on %s', (kind) => {
  let p: LifecyclePair;
  const logs: Array<{ msg: string; code?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  beforeEach(async () => {
    logs.length = 0;
    p = await startLifecyclePair(kind, { handler: new FaqHandler(faq), logger });
    await wireSandboxInstalls({ sandbox: p.sim, app: p.app, storage: p.storage, logger });
  });
  afterEach(() => p.stop());

  const post = async (url: string, body: unknown = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const count = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [row] = await p.storage.sql!.db.all<{ n: number }>(sql, params);
    return Number(row?.n ?? 0);
  };
  const chat = async () =>
    (await post(`${p.sim.url}/visitor/api/chats`)).body as { conversation_id: string; token: string };

  it('erases the team through a lifecycle job, lifts its tombstone and lets the bot answer again', async () => {
    const first = await chat();
    await waitFor('greeted', () => p.sim.world.countBy(first.conversation_id, 'bot') === 1);
    await until('stored', async () => (await count('SELECT COUNT(*) AS n FROM messages')) > 0);
    expect(
      (await post(`${p.sim.url}/sandbox/webhooks`, { type: 'app.uninstalled', team_id: 'T0SANDBOX' })).body,
    ).toMatchObject({ ok: true, result: { delivered: true } });
    await until('erased', async () => (await count('SELECT COUNT(*) AS n FROM receipts')) === 1);
    expect(p.sim.installs.isInstalled('T0SANDBOX')).toBe(false);

    const reset = await post(`${p.sim.url}/sandbox/reset`);
    expect(reset).toEqual({
      status: 200,
      body: {
        ok: true,
        result: { team_id: 'T0SANDBOX', app: { erased: true, tombstone_lifted: true }, resets: 1 },
      },
    });
    // The normal erasure path: a second job with its own receipt and audit entry.
    expect(await count('SELECT COUNT(*) AS n FROM receipts')).toBe(2);
    expect(await count("SELECT COUNT(*) AS n FROM lifecycle_jobs WHERE state = 'done'")).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log')).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM tombstones WHERE subject_ref = ?', [WHOLE_TEAM])).toBe(0);
    expect(p.sim.installs.isInstalled('T0SANDBOX')).toBe(true);
    expect(logs.map((l) => l.msg)).toContain('sandbox team T0SANDBOX reset: the app is installed again');

    // The old chat is gone on ClickDesk's side too; a new one is answered.
    const old = await fetch(`${p.sim.url}/visitor/api/chats/${first.conversation_id}`, {
      headers: { 'x-visitor-token': first.token },
    });
    expect(old.status).toBe(410);
    const second = await chat();
    await waitFor('greeted after the reset', () => p.sim.world.countBy(second.conversation_id, 'bot') === 1);
    await until('stored again', async () => (await count('SELECT COUNT(*) AS n FROM messages')) > 0);
  });

  it('says at the next start that the team is uninstalled, and how to reinstall it', async () => {
    await post(`${p.sim.url}/sandbox/webhooks`, { type: 'app.uninstalled', team_id: 'T0SANDBOX' });
    await until('erased', async () => (await count('SELECT COUNT(*) AS n FROM receipts')) === 1);
    logs.length = 0;

    // A restart: a new simulator (ClickDesk's memory is not kept), the same database.
    const fresh = new Simulator();
    await wireSandboxInstalls({ sandbox: fresh, app: p.app, storage: p.storage, logger });
    expect(fresh.installs.isInstalled('T0SANDBOX')).toBe(false);
    const warning = logs.find((l) => l.code === 'SANDBOX_TEAM_UNINSTALLED');
    expect(warning?.msg).toContain('/sandbox/reset');
    expect(warning?.msg).toContain('npm start -- --reset');
  });

  it('refuses a malformed reset with a message naming the field', async () => {
    const res = await post(`${p.sim.url}/sandbox/reset`, { team_id: 7 });
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toContain('team_id');
  });
});

describe('POST /sandbox/reset with STORAGE=memory', () => {
  it('starts the simulator side afresh and says there was nothing to erase', async () => {
    const pair = await startSandboxPair({ handler: new FaqHandler(faq) });
    try {
      await wireSandboxInstalls({
        sandbox: pair.sim,
        app: pair.app,
        storage: { sql: undefined },
        logger: pino({ level: 'silent' }),
      });
      const res = await fetch(`${pair.sim.url}/sandbox/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await res.json()).toEqual({
        ok: true,
        result: {
          team_id: 'T0SANDBOX',
          app: { erased: false, note: expect.stringContaining('STORAGE=memory') },
          resets: 1,
        },
      });
    } finally {
      await pair.stop();
    }
  });
});

/** `npm start` as a person runs it: the real composition root in a child process. */
describe('npm start', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
  });
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function start(args: string[], env: Record<string, string> = {}) {
    const lines: Array<Record<string, unknown>> = [];
    let stderr = '';
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(CLICKDESK_|HTTP_|SANDBOX_|SANDBOX$|NODE_ENV$)/.test(k)),
    );
    // The flag `npm start` passes (package.json), so the child starts the way a user's does.
    const npmStart = [MAIN_CHILD, '--sandbox-if-unconfigured', ...args];
    child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), npmStart, {
      cwd: dir,
      env: {
        ...clean,
        TSX_TSCONFIG_PATH: path.join(REPO_ROOT, 'tsconfig.json'),
        DATA_DIR: dir,
        SANDBOX_PORT: '0',
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts)
        if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const proc = child;
    return {
      lines,
      stderr: () => stderr,
      find: (msg: string) => lines.find((l) => String(l.msg).includes(msg)),
      waitFor: (what: string, check: () => boolean) => waitFor(what, check, 30_000, 20),
      stop: async () => {
        proc.kill('SIGTERM');
        await once(proc, 'exit');
      },
    };
  }

  it('keeps an uninstalled sandbox team silent across a restart, says so, and --reset brings the bot back', async () => {
    const run1 = start([]);
    await run1.waitFor('started', () => run1.lines.filter((l) => l.msg === 'RTM connected').length === 2);
    const simulator = String(run1.find('sandbox mode')?.simulator);
    const app = String(run1.find('app started')?.http);
    const sent = await fetch(`${simulator}/sandbox/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'app.uninstalled',
        team_id: 'T0SANDBOX',
        url: `${app}/webhooks/clickdesk`,
      }),
    });
    expect(sent.status).toBe(200);
    await run1.waitFor('the uninstall explained', () =>
      run1.lines.some((l) => l.code === 'SANDBOX_TEAM_UNINSTALLED'),
    );
    await run1.waitFor('erased', () => run1.find('lifecycle job done') !== undefined);
    await run1.stop();

    const run2 = start([]);
    await run2.waitFor('the uninstall explained at start', () =>
      run2.lines.some(
        (l) => l.code === 'SANDBOX_TEAM_UNINSTALLED' && String(l.msg).includes('npm start -- --reset'),
      ),
    );
    const sim2 = String(run2.find('sandbox mode')?.simulator);
    const counters2 = async () =>
      ((await (await fetch(`${sim2}/sandbox/counters`)).json()) as { counters: SimulatorCounters }).counters;
    await fetch(`${sim2}/visitor/api/chats`, { method: 'POST' });
    await until('the new chat acknowledged', async () => (await counters2()).eventsAcked === 1);
    await new Promise((r) => setTimeout(r, 500)); // time enough for a greeting that must not come
    expect((await counters2()).apiCalls['chat.postMessage']).toBeUndefined();
    await run2.stop();

    const run3 = start(['--reset']);
    await run3.waitFor('reset', () => run3.find('sandbox reset (--reset)') !== undefined);
    const sim3 = String(run3.find('sandbox mode')?.simulator);
    const status = (await (await fetch(`${sim3}/visitor/api/status`)).json()) as { installed: boolean };
    expect(status.installed).toBe(true);
    await fetch(`${sim3}/visitor/api/chats`, { method: 'POST' });
    await until('the bot greeting the new chat', async () => {
      const body = (await (await fetch(`${sim3}/sandbox/counters`)).json()) as {
        counters: { apiCalls: Record<string, number> };
      };
      return (body.counters.apiCalls['chat.postMessage'] ?? 0) >= 1;
    });
    await run3.stop();
  }, 90_000);

  it.each([
    ['SANDBOX_PORT', {}],
    ['HTTP_PORT', { SANDBOX_PORT: '0' }],
    ['METRICS_PORT', { SANDBOX_PORT: '0', HTTP_PORT: '0' }],
  ])(
    'names %s when its port is taken, and says how to fix it',
    async (variable, extra) => {
      const blocker = net.createServer();
      blocker.listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      const port = String((blocker.address() as net.AddressInfo).port);
      try {
        const run = start([], { ...extra, [variable]: port });
        const [code] = (await once(child!, 'exit')) as [number];
        expect(code).toBe(1);
        expect(run.stderr()).toContain(`${variable}=${port} is already in use`);
        expect(run.stderr()).toContain(`set ${variable} to a free port`);
      } finally {
        blocker.close();
      }
    },
    30_000,
  );
});
