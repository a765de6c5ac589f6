import WebSocket from 'ws';
import { Simulator } from '../src/simulator';
import type { SimulatorOptions } from '../src/simulator-options';
import { sleep, waitFor } from '../../kit/test/helpers/wait-for';

/** A bare RTM client: records every frame, acknowledges only when told to. */
class RawLink {
  readonly frames: Array<Record<string, unknown>> = [];
  /** The frames as sent, byte for byte. */
  readonly texts: string[] = [];
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      this.texts.push(text);
      this.frames.push(JSON.parse(text) as Record<string, unknown>);
    });
    ws.on('close', () => (this.closed = true));
  }

  static async open(sim: Simulator): Promise<RawLink> {
    const res = await fetch(`${sim.apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.options.appToken}` },
    });
    const { url } = (await res.json()) as { url: string };
    const link = new RawLink(new WebSocket(url));
    await waitFor('hello', () => link.frames.some((f) => f.type === 'hello'));
    return link;
  }

  ofType(type: string): Array<Record<string, unknown>> {
    return this.frames.filter((f) => f.type === type);
  }

  ack(envelopeId: unknown): void {
    this.ws.send(JSON.stringify({ envelope_id: envelopeId }));
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('simulator RTM hub (docs/clickdesk-contract.md §2)', () => {
  let sim: Simulator;
  const links: RawLink[] = [];

  const start = async (options: Partial<SimulatorOptions> = {}): Promise<void> => {
    sim = new Simulator({ ackTimeoutMs: 200, pingIntervalMs: 60_000, warningCloseMs: 5_000, ...options });
    await sim.listen(0);
  };
  const open = async (): Promise<RawLink> => {
    const link = await RawLink.open(sim);
    links.push(link);
    return link;
  };

  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    await sim.close();
  });

  it('settles a late ack once when its redelivery is already queued: never delivered again, unsettled never below 0', async () => {
    await start();
    const first = await open();
    const eventId = sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('delivered', () => first.ofType('events_api').length === 1);
    const envelopeId = first.ofType('events_api')[0]?.envelope_id;
    // Told to go, the only link takes no new envelopes: the redelivery after the ack deadline waits in the queue.
    sim.hub.disconnect('warning');
    await waitFor(
      'redelivery queued',
      () => sim.counters.envelopesDelivered === 1 && sim.hub.unsettled === 1,
    );
    await sleep(300); // past the 200 ms ack deadline
    expect(sim.counters.envelopesRedelivered).toBe(0);

    first.ack(envelopeId); // late, but the link is still open: the event is acknowledged
    await waitFor('acknowledged', () => sim.counters.eventsAcked === 1);
    expect(sim.hub.unsettled).toBe(0);

    const second = await open(); // a link to deliver on: the queued redelivery must not go out
    await sleep(300);
    expect(second.ofType('events_api')).toEqual([]);
    expect(sim.counters.envelopesRedelivered).toBe(0);
    expect(sim.hub.unsettled).toBe(0);
    expect(sim.counters.eventsExpired).toBe(0);
    expect(sim.counters.acks).toBe(1);
    expect(eventId).toMatch(/^Ev/);
  });

  it("sends every envelope as the JSON text of the contract's envelope object, redeliveries included", async () => {
    await start();
    const link = await open();
    const event = {
      type: 'message',
      conversation_id: 'C1',
      sender: { kind: 'visitor', id: 'V1' },
      text: 'é "quoted" \\ \u2028 🙂',
      ts: '1.5',
    };
    const eventId = sim.publish(event);
    await waitFor('a delivery and a redelivery', () => link.ofType('events_api').length === 2);
    const texts = link.texts.filter((t) => t.includes('"events_api"'));
    texts.forEach((text, attempt) => {
      const frame = JSON.parse(text) as { envelope_id: string; payload: { event_time: number } };
      expect(text).toBe(
        JSON.stringify({
          envelope_id: frame.envelope_id,
          type: 'events_api',
          accepts_response_payload: false,
          retry_attempt: attempt,
          retry_reason: attempt > 0 ? 'timeout' : '',
          payload: {
            type: 'event_callback',
            team_id: sim.team.id,
            api_app_id: sim.options.appId,
            event_id: eventId,
            event_time: frame.payload.event_time,
            event,
          },
        }),
      );
    });
    expect(eventId).toMatch(/^Ev[0-9A-F]{20}$/);
  });

  it("settles on an ack with more fields (Slack's client adds a payload) and counts a malformed ack", async () => {
    await start();
    const link = await open();
    sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('a delivery', () => link.ofType('events_api').length === 1);
    const id = link.ofType('events_api')[0]?.envelope_id as string;
    link.ws.send(`{"envelope_id":"${id}\\u0001"}`); // an id that is not this envelope's: unknown, harmless
    link.ws.send(`{"envelope_id":"${id}"}`); // a raw control character: not JSON
    link.ws.send(JSON.stringify({ envelope_id: id, payload: {} }));
    await waitFor('settled', () => sim.hub.unsettled === 0);
    expect(sim.counters.acks).toBe(1);
    expect(sim.counters.protocolErrors).toBe(1);
  });

  it('counts an event settled once when acks for both of its envelopes arrive', async () => {
    await start();
    const link = await open();
    sim.hub.faults.duplicateNext = 1;
    sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('two copies', () => link.ofType('events_api').length === 2);
    for (const e of link.ofType('events_api')) link.ack(e.envelope_id);
    await sleep(100);
    expect(sim.counters.eventsAcked).toBe(1);
    expect(sim.hub.unsettled).toBe(0);
  });

  it('sends too_many_websockets as a disconnect frame after hello, and keeps the links it holds', async () => {
    await start({ maxConnections: 1 });
    const kept = await open();
    const extra = await open();
    await waitFor('extra link closed', () => extra.closed);
    expect(extra.frames.map((f) => f.type)).toEqual(['hello', 'disconnect']);
    expect(extra.frames[1]).toEqual({ type: 'disconnect', reason: 'too_many_websockets' });
    expect(sim.counters.upgradesRefused).toBe(0);
    expect(sim.hub.openLinks).toBe(1);
    expect(kept.closed).toBe(false);
    sim.publish({ type: 'visitor_updated', visitor_id: 'V1' });
    await waitFor('delivered on the kept link', () => kept.ofType('events_api').length === 1);
  });

  it('tells a link to go once: a repeated or later notice for it sends no second frame', async () => {
    await start();
    const link = await open();
    expect(sim.hub.disconnect('warning')).toBe(1);
    expect(sim.hub.disconnect('warning')).toBe(0);
    expect(sim.hub.disconnect('refresh_requested', 'oldest')).toBe(0);
    const fresh = await open();
    // "oldest" means the oldest link not yet notified.
    expect(sim.hub.disconnect('refresh_requested', 'oldest')).toBe(1);
    await sleep(50);
    expect(link.ofType('disconnect')).toEqual([{ type: 'disconnect', reason: 'warning' }]);
    expect(fresh.ofType('disconnect')).toEqual([{ type: 'disconnect', reason: 'refresh_requested' }]);
  });

  it('sends link_disabled to every link, notified or not', async () => {
    await start();
    const link = await open();
    sim.hub.disconnect('warning');
    expect(sim.hub.disconnect('link_disabled')).toBe(1);
    await waitFor('closed', () => link.closed);
    expect(link.ofType('disconnect').map((f) => f.reason)).toEqual(['warning', 'link_disabled']);
  });

  it('measures the longest time with no link to deliver on', async () => {
    await start();
    await open();
    sim.resetCounters();
    expect(sim.hub.longestGapMs).toBe(0);
    sim.hub.disconnect('warning');
    await sleep(120);
    await open();
    const gap = sim.hub.longestGapMs;
    expect(gap).toBeGreaterThanOrEqual(100);
    await sleep(50);
    expect(sim.hub.longestGapMs).toBe(gap); // the gap ended when the new link said hello
  });
});
