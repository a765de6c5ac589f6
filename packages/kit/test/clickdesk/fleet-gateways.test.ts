import { Registry } from 'prom-client';
import { Simulator } from '@clickdesk-bot/sandbox';
import { FleetSeats } from '../../src/clickdesk/fleet-seats';
import { ClickDeskGateway } from '../../src/clickdesk/gateway';
import type { LinkSeatStore } from '../../src/clickdesk/link-seats';
import { MemoryLinkSeats } from '../../src/clickdesk/memory-link-seats';
import { readiness } from '../../src/health/readiness';
import { registerLinkMetrics } from '../../src/metrics/link-metrics';
import { silentLogger } from '../../src/logging/create-logger';
import { FAST_RTM, FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * Several gateways of one app in one process, sharing a link register whose cap is the
 * simulator's: the seats decide who opens, a stop hands links over, the open budget is spent only
 * where a link is missing.
 */
describe('gateways sharing the app link cap', () => {
  const CAP = 3;
  let sim: Simulator;
  let store: LinkSeatStore;
  const gateways: ClickDeskGateway[] = [];
  const opens = (): number => sim.counters.apiCalls['apps.connections.open'] ?? 0;

  beforeEach(async () => {
    sim = new Simulator({ ...FAST_SIMULATOR, maxConnections: CAP });
    await sim.listen(0);
    store = new MemoryLinkSeats();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    await sim.close();
  });

  const gateway = (id: string, store: LinkSeatStore, connections = 2): ClickDeskGateway => {
    const g = new ClickDeskGateway({
      ...FAST_RTM,
      connections,
      seats: new FleetSeats({
        store,
        instanceId: id,
        cap: CAP,
        want: connections,
        fallbackInstances: 2,
        logger: silentLogger(),
        syncMs: 50,
        eagerSyncMs: 20,
        ttlMs: 1_000,
      }),
      apiUrl: sim.apiUrl,
      openConnection: async () => {
        const res = await fetch(`${sim.apiUrl}apps.connections.open`, {
          method: 'POST',
          headers: { authorization: `Bearer ${sim.options.appToken}` },
        });
        return ((await res.json()) as { url: string }).url;
      },
      intake: () => Promise.resolve('recorded'),
      logger: silentLogger(),
      onFatal: () => undefined,
    });
    gateways.push(g);
    return g;
  };
  const ready = (g: ClickDeskGateway) =>
    readiness({ gateway: g, storage: { up: true, reason: undefined, since: 0 }, rateStore: undefined });

  it('opens only the links the cap allows; the instance left without one is ready and says it is by design', async () => {
    const a = gateway('a', store);
    const b = gateway('b', store);
    const c = gateway('c', store);
    a.start();
    await waitFor('a holding its links', () => a.deliverableConnections === 2);
    b.start();
    c.start();
    await waitFor('the cap held', () => sim.hub.deliverableLinks === CAP);
    await sleep(300); // several register rounds: nobody opens more
    expect(opens()).toBe(CAP);
    expect(sim.hub.linkLog.every((e) => e.open <= CAP)).toBe(true);
    const without = [b, c].find((g) => g.deliverableConnections === 0);
    expect(without).toBeDefined();
    const r = ready(without!);
    expect(r.ready).toBe(true);
    expect(r.dependencies.rtm.up).toBe(true);
    expect(r.reasons).toEqual([expect.stringMatching(/^no link by design: the app's 3 RTM links are held/)]);
  });

  it('hands a stopping instance links to the one that wants them: the fleet loses at most its share, for moments', async () => {
    const a = gateway('a', store);
    const b = gateway('b', store, 1);
    a.start();
    b.start();
    await waitFor('the cap held', () => sim.hub.deliverableLinks === CAP);
    const c = gateway('c', store);
    c.start();
    await sleep(200);
    expect(c.deliverableConnections).toBe(0);
    const before = opens();
    const from = Date.now();
    await a.handOver(3_000);
    await waitFor('c holding the handed-over links', () => c.deliverableConnections === 2, 3_000);
    const restoredMs = Date.now() - from;
    expect(a.openConnections).toBe(0);
    expect(opens() - before).toBe(2);
    const during = sim.hub.linkLog.filter((e) => e.at >= from);
    // Never over the cap (no refused link), never below what b holds.
    expect(Math.max(...during.map((e) => e.open))).toBeLessThanOrEqual(CAP);
    expect(Math.min(...during.map((e) => e.deliverable))).toBeGreaterThanOrEqual(1);
    expect(sim.hub.deliverableLinks).toBe(CAP);
    expect(restoredMs).toBeLessThan(3_000);
  });

  it('keeps its links when nobody wants them, and closes them with the stop', async () => {
    const a = gateway('a', store);
    a.start();
    await waitFor('a holding its links', () => a.deliverableConnections === 2);
    const from = Date.now();
    await a.handOver(2_000);
    expect(Date.now() - from).toBeLessThan(1_000);
    expect(a.deliverableConnections).toBe(2);
    await a.close();
    const b = gateway('b', store, 3);
    b.start();
    await waitFor('b taking every seat', () => b.deliverableConnections === CAP);
  });

  it('says "no link, wanted" (not ready) when it holds a seat and cannot connect, and the link gauges say so too', async () => {
    const registry = new Registry();
    const g = new ClickDeskGateway({
      ...FAST_RTM,
      connections: 1,
      seats: new FleetSeats({
        store,
        instanceId: 'lonely',
        cap: CAP,
        want: 1,
        fallbackInstances: 2,
        logger: silentLogger(),
        syncMs: 50,
      }),
      openConnection: () => Promise.reject(new Error('ECONNREFUSED')),
      intake: () => Promise.resolve('recorded'),
      logger: silentLogger(),
      onFatal: () => undefined,
    });
    gateways.push(g);
    registerLinkMetrics(registry, () => g);
    g.start();
    await waitFor('a seat held', () => g.fleet?.held === 1);
    const r = ready(g);
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual([
      'no link, wanted: no RTM link can deliver events (0 open, 1 of 1 seats held)',
    ]);
    const text = await registry.metrics();
    expect(text).toMatch(/^clickdesk_rtm_no_link\{reason="wanted"\} 1$/m);
    expect(text).toMatch(/^clickdesk_rtm_no_link\{reason="by_design"\} 0$/m);
    expect(text).toMatch(/^clickdesk_rtm_links\{state="seats_held"\} 1$/m);
    expect(text).toMatch(/^clickdesk_rtm_fleet_seats\{state="held"\} 1$/m);
    expect(text).toMatch(/^clickdesk_rtm_fleet_seats\{state="cap"\} 3$/m);
  });

  it('without the register, keeps the links it holds and opens no new ones, unless it never reached it', async () => {
    let down = false;
    const flaky: LinkSeatStore = {
      sync: (req) => (down ? Promise.reject(new Error('ECONNREFUSED')) : store.sync(req)),
      released: (id, seat) => store.released(id, seat),
      leave: (id) => store.leave(id),
      close: () => Promise.resolve(),
    };
    const a = gateway('a', flaky);
    a.start();
    await waitFor('a holding its links', () => a.deliverableConnections === 2);
    down = true;
    await sleep(200);
    sim.hub.closeAbruptly('oldest');
    // Its own seat: the link comes back on it.
    await waitFor('a back on two links', () => a.deliverableConnections === 2);
    expect(a.fleet).toMatchObject({ reachable: false, held: 2 });
    // A newcomer that never reached the register plans with its share of the cap: 3 / 2 → 1.
    const b = gateway('b', flaky);
    b.start();
    await waitFor('b on its share', () => b.deliverableConnections === 1);
    await sleep(200);
    expect(b.deliverableConnections).toBe(1);
  });
});
