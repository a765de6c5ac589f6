import { ClickDeskGateway } from '../../src/clickdesk/gateway';
import { silentLogger } from '../../src/logging/create-logger';
import { Simulator } from '@clickdesk-bot/sandbox';
import { FAST_RTM, FAST_SIMULATOR, startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * How the gateway replaces links: one replacement per link whatever the server sends, each
 * counted once when it happened, backoff only after failures, and a storm that never runs the
 * apps.connections.open budget out.
 */
describe('ClickDesk gateway reconnection', () => {
  let pair: SandboxPair | undefined;
  const reasons: string[] = [];
  beforeEach(() => (reasons.length = 0));
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  const start = (options: Parameters<typeof startSandboxPair>[0] = {}) =>
    startSandboxPair({
      ...options,
      app: { gatewayObserver: { reconnect: (r) => reasons.push(r) }, ...options.app },
    });
  const opens = (p: SandboxPair): number => p.sim.counters.apiCalls['apps.connections.open'] ?? 0;

  it('coalesces repeated notices and the close that follows into one replacement per link, counted once', async () => {
    pair = await start();
    expect(reasons).toEqual([]); // the first links are connections, not reconnects
    const before = opens(pair);
    pair.sim.hub.disconnect('warning');
    // The same links hear more notices (bypassing the simulator's once-per-link rule).
    pair.sim.hub.sendRaw([
      '{"type":"disconnect","reason":"refresh_requested"}',
      '{"type":"disconnect","reason":"warning"}',
      '{"type":"disconnect","reason":"refresh_requested"}',
    ]);
    await waitFor(
      'both links replaced',
      () => pair!.app.gateway.deliverableConnections === 2 && reasons.length === 2,
    );
    await sleep(600); // past the server's close of the old links (400 ms)
    expect(opens(pair) - before).toBe(2);
    expect(reasons).toEqual(['warning', 'warning']);
    const ids = Array.from({ length: 20 }, (_, i) =>
      pair!.sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }),
    );
    await waitFor('handled', () => ids.every((id) => pair!.recorder.handled(id)));
    expect(pair.recorder.handledTwice).toEqual([]);
  });

  it('counts a reconnect by what ended the link, once the replacement said hello', async () => {
    pair = await start({ rtm: { connections: 1 } });
    pair.sim.hub.closeAbruptly();
    await waitFor('replaced', () => reasons.length === 1 && pair!.app.gateway.deliverableConnections === 1);
    expect(reasons).toEqual(['closed_by_server']);
    const text = await pair.app.metrics.registry.getSingleMetricAsString('clickdesk_rtm_reconnects_total');
    expect(text).toMatch(/clickdesk_rtm_reconnects_total\{reason="closed_by_server"\} 1$/m);
  });

  it('weathers a storm of notices and cuts without a 429, a refused open, a lost or a twice-handled event', async () => {
    pair = await start();
    const ids: string[] = [];
    const faults = ['warning', 'refresh_requested', 'close'] as const;
    for (let i = 0; i < 80; i++) {
      const fault = faults[i % faults.length];
      if (fault === 'close') pair.sim.hub.closeAbruptly();
      else if (fault) pair.sim.hub.disconnect(fault);
      ids.push(pair.sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }));
      await sleep(25);
    }
    await waitFor('back on a link', () => pair!.app.gateway.deliverableConnections >= 1, 15_000);
    await waitFor('every event acknowledged', () => pair!.sim.hub.unsettled === 0, 20_000);
    await waitFor('every event handled', () => ids.every((id) => pair!.recorder.handled(id)));
    expect(pair.sim.counters.ratelimited).toBe(0);
    expect(opens(pair)).toBeLessThanOrEqual(20);
    const refused = await pair.app.metrics.registry.getSingleMetricAsString(
      'clickdesk_ratelimit_refused_total',
    );
    const openRefusals = refused.split('\n').filter((l) => l.includes('method="apps.connections.open"'));
    expect(openRefusals.map((l) => l.split(' ').pop())).toEqual(['0', '0']);
    expect(pair.sim.counters.eventsExpired).toBe(0);
    expect(pair.recorder.handledTwice).toEqual([]);
  }, 60_000);
});

describe('ClickDesk gateway backoff', () => {
  it('backs off (full jitter) only after failed attempts, and starts afresh after a good hello', async () => {
    const sim = new Simulator(FAST_SIMULATOR);
    await sim.listen(0);
    let draws = 0;
    let failNext = 0;
    const gateway = new ClickDeskGateway({
      ...FAST_RTM,
      connections: 1,
      backoffBaseMs: 40,
      backoffMaxMs: 40,
      random: () => {
        draws += 1;
        return 0.5;
      },
      apiUrl: sim.apiUrl,
      openConnection: async () => {
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('network down');
        }
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
    try {
      gateway.start();
      await waitFor('connected', () => gateway.deliverableConnections === 1);
      expect(draws).toBe(0);

      failNext = 2; // the next two attempts fail
      sim.hub.closeAbruptly();
      await waitFor(
        'reconnected after two failures',
        () => failNext === 0 && gateway.deliverableConnections === 1,
      );
      expect(draws).toBe(2); // one uniform draw per backoff, after each failure

      sim.hub.closeAbruptly();
      await waitFor(
        'reconnected again',
        () => sim.hub.openLinks === 1 && gateway.deliverableConnections === 1,
      );
      expect(draws).toBe(2); // no backoff: the last attempt said hello
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});
