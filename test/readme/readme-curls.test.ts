import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { FaqHandler } from '../../packages/kit/test/helpers/faq-handler';
import { wireSandboxInstalls } from '../../packages/kit/src/sandbox-mode/sandbox-installs';
import { startLifecyclePair, type LifecyclePair } from '../../packages/kit/test/helpers/lifecycle-pair';
import { findTool } from '../../packages/kit/test/helpers/require-tool';

const run = promisify(execFile);
const curl = findTool('curl', 'install it with: apt-get install curl');

/** The curl lines of the fault switches in docs/sandbox.md, in order. */
function docCurls(): string[] {
  const doc = readFileSync(path.join(__dirname, '../../docs/sandbox.md'), 'utf8');
  const start = doc.indexOf('## Fault switches');
  if (start < 0) throw new Error('docs/sandbox.md has no "## Fault switches" section');
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(start))?.[1] ?? '';
  return block.split('\n').filter((line) => line.startsWith('curl '));
}

/** "POST /sandbox/faults/acks {"withhold":true}": what a curl line does, ports aside. */
function signature(line: string): string {
  const url = /localhost:4100(\/\S+)/.exec(line)?.[1] ?? '?';
  const body = /-d '([^']*)'/.exec(line)?.[1];
  return `${line.includes('-XPOST') ? 'POST' : 'GET'} ${url}${body ? ` ${body}` : ''}`;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

curl.describeIf('the fault switches of docs/sandbox.md', () => {
  let p: LifecyclePair;
  const logs: Array<{ msg: string; code?: string; why?: string; reason?: string }> = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    p = await startLifecyclePair('sqlite', { handler: new FaqHandler(), logger });
    await wireSandboxInstalls({ sandbox: p.sim, app: p.app, storage: p.storage, logger });
  });
  afterAll(() => p?.stop());

  /** A metric of the app's registry, summed over the series matching `labels`. */
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const base = name.replace(/_(count|sum|bucket)$/, '');
    const m = p.app.metrics.registry.getSingleMetric(base);
    if (!m) throw new Error(`no metric ${base}`);
    const { values } = await m.get();
    return values
      .filter((v) => ((v as { metricName?: string }).metricName ?? base) === name)
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);
  };
  const reconnects = (reason: string) => metric('clickdesk_rtm_reconnects_total', { reason });
  // Both links up on both sides, and no retiring one left (a refresh closes the old link later).
  const linksBack = () =>
    until('both links open again', () => p.app.gateway.openConnections === 2 && p.sim.hub.openLinks === 2);
  const visitorChat = async (): Promise<{ conversation_id: string; token: string }> => {
    const res = await fetch(`${p.sim.url}/visitor/api/chats`, { method: 'POST' });
    return (await res.json()) as { conversation_id: string; token: string };
  };
  const connected = () => logs.filter((l) => l.msg === 'RTM connected').length;
  const settled = () => until('every delivery settled', () => p.sim.hub.unsettled === 0);
  const botSpoke = (conversationId: string) => p.sim.world.countBy(conversationId, 'bot') > 0;

  /** What each curl of docs/sandbox.md says to watch, checked after it ran. */
  const checks: Record<string, (result: unknown, before: { connected: number }) => Promise<void>> = {
    'GET /sandbox/counters': (body) => {
      expect(body).toMatchObject({ counters: { eventsAcked: expect.any(Number) } });
      return Promise.resolve();
    },
    'POST /sandbox/faults/disconnect {"reason":"warning"}': async (_result, before) => {
      await until('a warning reconnect', async () => (await reconnects('warning')) >= 1);
      await until('two replacement links', () => connected() >= before.connected + 2);
      expect(logs.some((l) => l.msg === 'ClickDesk sent disconnect' && l.reason === 'warning')).toBe(true);
      await linksBack();
    },
    'POST /sandbox/faults/close {"target":"oldest"}': async () => {
      await until('a lost link', () => logs.some((l) => l.msg === 'RTM connection lost; reconnecting')).catch(
        (err: unknown) => {
          throw new Error(`${String(err)}: ${JSON.stringify(logs.slice(-8))}`);
        },
      );
      const lost = logs.find((l) => l.msg === 'RTM connection lost; reconnecting');
      expect(lost?.why).toBe('closed_by_server');
      // A reconnect is counted once its replacement says hello.
      await until('a closed_by_server reconnect', async () => (await reconnects('closed_by_server')) >= 1);
      await linksBack();
    },
    'POST /sandbox/faults/pongs {"withhold":true}': async () => {
      await until('a pong_timeout reconnect', async () => (await reconnects('pong_timeout')) >= 1);
    },
    'POST /sandbox/faults/pongs {"withhold":false}': async () => {
      const before = await reconnects('pong_timeout');
      await linksBack();
      await new Promise((r) => setTimeout(r, 500)); // several pong timeouts of the test's links
      expect(await reconnects('pong_timeout')).toBeLessThanOrEqual(before + 2);
    },
    'POST /sandbox/faults/acks {"withhold":true}': async () => {
      const dropped = await metric('clickdesk_rtm_duplicates_dropped_total');
      const chat = await visitorChat();
      await until('the event expired at ClickDesk', () => p.sim.counters.eventsExpired >= 1);
      expect(await metric('clickdesk_rtm_duplicates_dropped_total')).toBeGreaterThan(dropped);
      expect(p.sim.counters.envelopesRedelivered).toBeGreaterThan(0);
      // Handled once: one greeting, however many times the event came.
      expect(p.sim.world.countBy(chat.conversation_id, 'bot')).toBe(1);
    },
    'POST /sandbox/faults/acks {"withhold":false}': async () => {
      await settled();
      const expired = p.sim.counters.eventsExpired;
      const chat = await visitorChat();
      await until('greeted', () => botSpoke(chat.conversation_id));
      await settled();
      expect(p.sim.counters.eventsExpired).toBe(expired);
    },
    'POST /sandbox/faults/stall {"on":true}': async () => {
      await until('a stalled reconnect', async () => (await reconnects('stalled')) >= 1);
    },
    'POST /sandbox/faults/stall {"on":false}': async () => {
      await linksBack();
      const chat = await visitorChat();
      await until('greeted after the stall', () => botSpoke(chat.conversation_id));
    },
    'POST /sandbox/faults/duplicate {"count":5}': async () => {
      const dropped = await metric('clickdesk_rtm_duplicates_dropped_total');
      const chat = await visitorChat();
      await until('the duplicate dropped', async () => {
        return (await metric('clickdesk_rtm_duplicates_dropped_total')) > dropped;
      });
      await until('greeted', () => botSpoke(chat.conversation_id));
      await p.app.dispatcher.drain(5_000);
      expect(p.sim.world.countBy(chat.conversation_id, 'bot')).toBe(1);
      await linksBack(); // steady links before the next fault, whose check counts them
    },
    'POST /sandbox/faults/raw {"frames":["not json"]}': async (_body, before) => {
      await until('a protocol error', async () => (await metric('clickdesk_rtm_protocol_errors_total')) >= 1);
      expect(logs.some((l) => String(l.msg).startsWith('dropped a malformed RTM frame'))).toBe(true);
      // The link stays up: both links open, and no new one was needed.
      await linksBack();
      expect(connected()).toBe(before.connected);
    },
    'POST /sandbox/events {"event":{"type":"visitor_updated","visitor_id":"V1"}}': async () => {
      const calls = JSON.stringify(p.sim.counters.apiCalls);
      await until('recorded', async () => {
        return (await metric('clickdesk_rtm_events_total', { outcome: 'recorded' })) >= 1;
      });
      await settled();
      await p.app.dispatcher.drain(5_000);
      expect(JSON.stringify(p.sim.counters.apiCalls)).toBe(calls);
    },
    'POST /sandbox/webhooks {"type":"app.uninstalled","team_id":"T0SANDBOX","url":"http://127.0.0.1:3000/webhooks/clickdesk"}':
      async (result) => {
        expect(result).toMatchObject({ delivered: true });
        await until('the erasure job done', async () => {
          return (
            (await metric('clickdesk_lifecycle_job_duration_seconds_count', { event: 'app.uninstalled' })) >=
            1
          );
        });
        expect(logs.some((l) => l.msg === 'lifecycle job done; receipt issued')).toBe(true);
        const warning = logs.find((l) => l.code === 'SANDBOX_TEAM_UNINSTALLED');
        expect(warning?.msg).toContain(`curl -s -XPOST ${p.sim.url}/sandbox/reset`);
        expect(warning?.msg).toContain('npm start -- --reset');
        const status = await (await fetch(`${p.sim.url}/visitor/api/status`)).json();
        expect(status).toMatchObject({ installed: false });
        // The bot ignores the uninstalled team: a new chat is acknowledged, and never greeted.
        const chat = await visitorChat();
        await settled();
        await p.app.dispatcher.drain(5_000);
        expect(botSpoke(chat.conversation_id)).toBe(false);
      },
    'POST /sandbox/reset {}': async (result) => {
      expect(result).toMatchObject({ team_id: 'T0SANDBOX', app: { erased: true }, resets: 1 });
      const status = await (await fetch(`${p.sim.url}/visitor/api/status`)).json();
      expect(status).toMatchObject({ installed: true, resets: 1 });
      const chat = await visitorChat();
      await until('greeted after the reset', () => botSpoke(chat.conversation_id));
    },
    'POST /sandbox/limits {"method":"chat.postMessage","limit":5}': async () => {
      await visitorChat(); // its greeting is the next call: its answer carries the new limit
      await until('the app planning with 5', async () => {
        return (await metric('clickdesk_ratelimit_limit', { method: 'chat.postMessage' })) === 5;
      });
    },
    'POST /sandbox/limits {"method":"chat.postMessage","limit":600}': () => {
      expect(p.sim.options.limits['chat.postMessage']).toBe(600);
      return Promise.resolve();
    },
  };

  it('covers every curl of docs/sandbox.md, each fault left on with the curl that turns it off', () => {
    expect(docCurls().map(signature)).toEqual(Object.keys(checks));
  });

  it('runs each curl against the app and shows what docs/sandbox.md says to watch', async () => {
    const host = p.sim.url.replace(/^http:\/\//, '');
    const appUrl = new URL(p.webhookUrl).origin;
    for (const line of docCurls()) {
      const command = line.replace(/localhost:4100/g, host).replace(/http:\/\/127\.0\.0\.1:3000/g, appUrl);
      const before = { connected: connected() };
      const { stdout } = await run('sh', ['-c', command]);
      const body = JSON.parse(stdout) as { ok: boolean; result?: unknown };
      expect({ line, ok: body.ok }).toEqual({ line, ok: true });
      await checks[signature(line)]?.(body.result ?? body, before);
    }
  }, 120_000);
});
