import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ChatHandler } from '../../src/core/chat-handler';
import { connectApp, startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { MAIN_CHILD, REPO_ROOT } from '../helpers/spawn-main';
import { waitFor } from '../helpers/wait-for';

const slowHandler = (ms: number, done: string[]): ChatHandler => ({
  async handle(event) {
    // unref: a handler abandoned at the deadline must not keep the test process alive.
    await new Promise((r) => setTimeout(r, ms).unref());
    done.push(event.eventId);
  },
});

describe('graceful shutdown', () => {
  let pair: SandboxPair | undefined;
  afterEach(async () => {
    await pair?.sim.close();
    pair = undefined;
  });

  it('finishes in-flight handlers, leaves nothing unacknowledged and closes the links', async () => {
    const done: string[] = [];
    pair = await startSandboxPair({ handler: slowHandler(300, done) });
    const ids = Array.from({ length: 5 }, (_, i) =>
      pair!.sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }),
    );
    await waitFor('recorded and acknowledged', () => pair!.sim.counters.eventsAcked === 5);
    expect(done).toHaveLength(0);

    const { drained } = await pair.app.stop();
    expect(drained).toBe(true);
    expect(done.sort()).toEqual([...ids].sort());
    await waitFor('links closed', () => pair!.sim.hub.openLinks === 0);
    expect(pair.sim.counters.eventsExpired).toBe(0);
  });

  it('leaves events that arrive after intake stopped to be redelivered to the next instance', async () => {
    const done: string[] = [];
    pair = await startSandboxPair({ handler: slowHandler(0, done) });
    await pair.app.gateway.pause(1000);
    const late = pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V-late' });
    await waitFor('delivered to the paused instance', () => pair!.sim.counters.envelopesDelivered === 1);
    await pair.app.stop();
    expect(done).not.toContain(late);

    const successor = await connectApp(pair.sim, { handler: slowHandler(0, done) });
    await waitFor('redelivered to the successor and handled', () => done.includes(late));
    await successor.app.stop();
    expect(pair.sim.counters.eventsAcked).toBe(1);
    expect(pair.sim.counters.eventsExpired).toBe(0);
  });

  it('gives up on a handler that outlives the deadline and says so', async () => {
    const done: string[] = [];
    pair = await startSandboxPair({ handler: slowHandler(5_000, done) });
    pair.sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('acknowledged', () => pair!.sim.counters.eventsAcked === 1);
    const started = Date.now();
    const { drained } = await pair.app.stop();
    expect(drained).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_500);
  });

  it('lets go of all it held once stopped: a process that builds apps again keeps none of the old ones', async () => {
    const done: string[] = [];
    pair = await startSandboxPair({ handler: slowHandler(0, done) });
    await pair.app.stop();
    const stopped = await handledOneThenStopped(pair.sim, done);
    await waitFor('the stopped app collected', () => {
      fullGc();
      return stopped.deref() === undefined;
    });
  });
});

/**
 * An app that handles one event, is scraped as Prometheus would, and stops: what remains of it is
 * a weak reference.
 */
async function handledOneThenStopped(sim: SandboxPair['sim'], done: string[]): Promise<WeakRef<object>> {
  const { app } = await connectApp(sim, { handler: slowHandler(0, done) });
  sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
  await waitFor('handled', () => done.length === 1);
  await app.metrics.registry.metrics();
  await app.stop();
  return new WeakRef(app);
}

/** A full collection, with --expose-gc turned on from inside the test. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('npm start (sandbox mode) under SIGTERM', () => {
  it('starts, serves the visitor page, and exits 0 after a clean shutdown', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN_CHILD, '--sandbox-if-unconfigured'], {
      cwd: REPO_ROOT,
      env: { ...process.env, HTTP_PORT: '0', SANDBOX_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('RTM connected', () => (out.match(/RTM connected/g) ?? []).length === 2, 20_000);
    const page = /Chat with your bot as a visitor: (\S+)/.exec(out)?.[1];
    expect(page).toBeDefined();
    const html = await (await fetch(page!)).text();
    expect(html).toContain('Support chat');

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/"drained":true,"msg":"stopped"/);
  });
});
