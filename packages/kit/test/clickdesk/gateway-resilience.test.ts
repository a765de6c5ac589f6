import type { CodedError } from '../../src/errors';
import type { InboundEvent } from '../../src/core/chat-event';
import { MemoryEventInbox } from '../../src/storage/memory/memory-event-inbox';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

/**
 * The gateway against a real simulator over real sockets. Every test checks the same two
 * promises from the outside: no event lost (the simulator saw every event acknowledged and
 * none expired) and none handled twice (the handler saw each event id once).
 */
describe('ClickDesk gateway against the simulator', () => {
  let pair: SandboxPair | undefined;
  const reasons: string[] = [];
  const protocolErrors = { count: 0 };

  beforeEach(() => {
    reasons.length = 0;
    protocolErrors.count = 0;
  });
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  const start = (options: Parameters<typeof startSandboxPair>[0] = {}) =>
    startSandboxPair({
      ...options,
      app: {
        gatewayObserver: {
          reconnect: (r) => reasons.push(r),
          protocolError: () => (protocolErrors.count += 1),
        },
        ...options.app,
      },
    });

  const publish = (p: SandboxPair, n: number): string[] =>
    Array.from({ length: n }, (_, i) => p.sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }));

  async function expectAllHandledOnce(p: SandboxPair, ids: string[]): Promise<void> {
    await waitFor('every event acknowledged', () => p.sim.hub.unsettled === 0);
    await waitFor('every event handled', () => ids.every((id) => p.recorder.handled(id)));
    expect(p.sim.counters.eventsExpired).toBe(0);
    expect(p.sim.counters.eventsAcked).toBe(p.sim.counters.eventsPublished);
    expect(p.recorder.handledTwice).toEqual([]);
  }

  it('acknowledges and handles each event once in normal operation', async () => {
    pair = await start();
    const ids = publish(pair, 200);
    await expectAllHandledOnce(pair, ids);
    expect(pair.sim.counters.envelopesRedelivered).toBe(0);
  });

  it('opens the replacement before the old link closes on "warning", losing nothing', async () => {
    // Every link told to go at once: the first replacement goes at once, the other once the new
    // link has delivered for a calm second (a storm looks the same at first) — within the
    // warning's period (about 10 s by contract; 3 s here).
    pair = await start({ simulator: { warningCloseMs: 3_000 } });
    const before = publish(pair, 50);
    const openCounts: number[] = [];
    pair.sim.hub.onLinksChanged = (open) => openCounts.push(open);
    pair.sim.hub.disconnect('warning');
    const during = publish(pair, 50);
    // The app closes the old links itself, before the server's deadline.
    await waitFor(
      'replaced',
      () => pair!.sim.counters.connectionsOpened === 4 && pair!.sim.hub.openLinks === 2,
      2_900,
    );
    const after = publish(pair, 50);
    await expectAllHandledOnce(pair, [...before, ...during, ...after]);
    expect(pair.app.gateway.openConnections).toBe(2);
    expect(reasons).toContain('warning');
    // Make before break: each replacement opened before its predecessor closed, so never fewer than two.
    expect(Math.min(...openCounts)).toBe(2);
    expect(Math.max(...openCounts)).toBeGreaterThanOrEqual(3);
  });

  it('reconnects at once on "refresh_requested", losing nothing', async () => {
    pair = await start();
    const ids = publish(pair, 50);
    pair.sim.hub.disconnect('refresh_requested');
    ids.push(...publish(pair, 50));
    await waitFor('new links', () => pair!.sim.counters.connectionsOpened >= 4);
    ids.push(...publish(pair, 50));
    await expectAllHandledOnce(pair, ids);
    await waitFor(
      'back to two links',
      () => pair!.app.gateway.openConnections === 2 && pair!.sim.hub.openLinks === 2,
    );
  });

  it('stops for good on "link_disabled" and reports a fatal error, without reconnecting', async () => {
    const fatal: CodedError[] = [];
    pair = await start({ app: { onFatal: (e) => fatal.push(e) } });
    const opensBefore = pair.sim.counters.apiCalls['apps.connections.open'];
    pair.sim.hub.disconnect('link_disabled');
    await waitFor('fatal error reported', () => fatal.length === 1);
    expect(fatal[0]?.code).toBe('CLICKDESK_LINK_DISABLED');
    expect(fatal[0]?.message).toMatch(/not reconnecting/);
    await sleep(300);
    expect(pair.sim.counters.apiCalls['apps.connections.open']).toBe(opensBefore);
    expect(pair.app.gateway.openConnections).toBe(0);
    expect(fatal).toHaveLength(1);
  });

  it('backs off on "too_many_websockets" and keeps serving on the links it has', async () => {
    pair = await start({ simulator: { maxConnections: 2 }, rtm: { connections: 3 }, waitConnected: false });
    await waitFor('two links', () => pair!.app.gateway.openConnections === 2);
    const ids = publish(pair, 60);
    await sleep(600);
    await expectAllHandledOnce(pair, ids);
    // Backoff (20 ms base, 200 ms cap) keeps the third slot well under the tier-1 limit of 20/min.
    expect(pair.sim.counters.apiCalls['apps.connections.open']).toBeLessThan(15);
    expect(pair.sim.counters.ratelimited).toBe(0);
  });

  it('reconnects after the socket is cut without a close frame', async () => {
    pair = await start();
    const ids = publish(pair, 50);
    pair.sim.hub.closeAbruptly();
    ids.push(...publish(pair, 50));
    await waitFor(
      'reconnected',
      () => pair!.app.gateway.openConnections === 2 && pair!.sim.hub.openLinks === 2,
    );
    ids.push(...publish(pair, 50));
    await expectAllHandledOnce(pair, ids);
    expect(reasons).toContain('closed_by_server');
  });

  it('treats withheld pongs as a dead link and reconnects', async () => {
    pair = await start();
    pair.sim.hub.faults.withholdPongs = true;
    await waitFor('dead link detected', () => reasons.includes('pong_timeout'));
    pair.sim.hub.faults.withholdPongs = false;
    await waitFor('reconnected', () => pair!.app.gateway.openConnections === 2);
    const ids = publish(pair, 50);
    await expectAllHandledOnce(pair, ids);
  });

  it('detects a silent stall with the watchdog and resumes on a new link', async () => {
    pair = await start();
    const ids = publish(pair, 10);
    await expectAllHandledOnce(pair, ids);
    pair.sim.hub.setStall(true);
    const during = publish(pair, 10); // queued by the stalled server
    await waitFor('stall detected', () => reasons.includes('stalled'), 3_000);
    pair.sim.hub.setStall(false);
    await expectAllHandledOnce(pair, [...ids, ...during]);
  });

  it('handles an event delivered twice exactly once', async () => {
    pair = await start();
    pair.sim.hub.faults.duplicateNext = 20;
    const ids = publish(pair, 20);
    await expectAllHandledOnce(pair, ids);
    expect(pair.sim.counters.envelopesDelivered).toBe(40);
    expect(pair.recorder.calls.size).toBe(20);
  });

  it('handles an event redelivered after a lost ack exactly once', async () => {
    pair = await start();
    pair.sim.hub.faults.withholdAcks = true;
    const ids = publish(pair, 10);
    await waitFor('redeliveries after the ack deadline', () => pair!.sim.counters.envelopesRedelivered >= 10);
    pair.sim.hub.faults.withholdAcks = false;
    await expectAllHandledOnce(pair, ids);
    expect(pair.sim.counters.acksWithheld).toBeGreaterThanOrEqual(10);
  });

  it('handles an event once when recording it outlasts the ack deadline', async () => {
    class SlowInbox extends MemoryEventInbox {
      override async record(e: InboundEvent): Promise<'recorded' | 'duplicate'> {
        await sleep(450); // the simulator's deadline is 300 ms: a redelivery arrives meanwhile
        return super.record(e);
      }
    }
    const slowInbox = new SlowInbox();
    pair = await start({ app: { inbox: slowInbox } });
    const ids = publish(pair, 5);
    await expectAllHandledOnce(pair, ids);
    expect(pair.sim.counters.envelopesRedelivered).toBeGreaterThanOrEqual(5);
  });

  it('drops 100 malformed frames without crashing or losing the link', async () => {
    pair = await start({ rtm: { connections: 1 } });
    const variants = [
      'not json',
      '{',
      '[]',
      'null',
      '42',
      '"hello"',
      '{"type":"disconnect","reason":"bogus"}',
      '{"envelope_id":7}',
      '{"envelope_id":"e1","type":"events_api"}',
      '{"envelope_id":"e2","type":"events_api","payload":{"type":"event_callback","team_id":"T","event_id":"Ev1","event_time":1,"event":{"type":"message"}}}',
      '{"envelope_id":"e3","type":"events_api","payload":{"type":"event_callback","team_id":"T","event_id":"","event_time":"x","event":{}}}',
      '{"type":"hello","connection_info":{"app_id":5}}',
      '\u0000\u0001garbage',
      '{"__proto__":{"polluted":true}}',
    ];
    const frames = Array.from({ length: 100 }, (_, i) => variants[i % variants.length] ?? '');
    const opened = pair.sim.counters.connectionsOpened;
    pair.sim.hub.sendRaw(frames);
    const ids = publish(pair, 20);
    await expectAllHandledOnce(pair, ids);
    expect(protocolErrors.count).toBe(100);
    expect(pair.sim.counters.connectionsOpened).toBe(opened);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('acknowledges event types it does not model without handling them', async () => {
    pair = await start();
    const id = pair.sim.publish({ type: 'typing_started', conversation_id: 'C1' });
    await waitFor('acknowledged', () => pair!.sim.counters.eventsAcked === 1);
    expect(pair.recorder.handled(id)).toBe(false);
  });
});
