// Events from publishing to settling: envelopes spread over the app's links within the in-flight
// window, the queue for when none can take one, redelivery at the ack deadline, and expiry.
import { randomUUID } from 'node:crypto';
import { AckDeadlines } from './ack-deadlines';
import type { AppLinks } from './app-links';
import type { SimulatorCounters } from './counters';
import { Fifo } from './fifo';
import { randomHex } from './random-hex';
import type { RtmFaults } from './rtm-faults';
import { envelopeFrame, envelopeIdOf, eventPayloadJson } from './rtm-frames';
import { sendText, type RtmLink } from './rtm-link';
import type { SimulatorOptions } from './simulator-options';

interface Delivery {
  eventId: string;
  teamId: string;
  eventTime: number;
  /** The event, until the payload is serialized at its first sending (then kept for redeliveries). */
  event: Record<string, unknown> | undefined;
  payloadJson: string | undefined;
  attempt: number;
  envelopeIds: string[];
  /** When the ack of the latest sending is due (performance.now() ms); 0 when not sent. */
  due: number;
  duplicate: boolean;
  /** Waiting in the queue for a link (first delivery or a redelivery). */
  queued: boolean;
  /** Acknowledged or expired: never sent again, never counted again. */
  settled: boolean;
}

export class DeliveryLedger {
  private readonly outstanding = new Map<string, Delivery>();
  private readonly queue = new Fifo<Delivery>();
  /** Deliveries not yet settled, queued ones included. */
  private inflight = 0;
  /** Of those, how many wait in the queue (the queue may also hold settled ones, skipped when reached). */
  private queued = 0;
  private readonly deadlines = new AckDeadlines<Delivery>((d) => this.onAckTimeout(d));

  constructor(
    private readonly opts: Pick<SimulatorOptions, 'appId' | 'ackTimeoutMs' | 'maxRetries' | 'maxInFlight'>,
    private readonly links: AppLinks,
    private readonly faults: RtmFaults,
    private readonly counters: () => SimulatorCounters,
  ) {}

  /** Events published and not yet acknowledged or expired (sent, or waiting for a link). Never negative. */
  get unsettled(): number {
    return this.inflight;
  }

  /** Delivers the event now if a link can take it, else queues it; returns its event id. */
  publish(teamId: string, event: Record<string, unknown>): string {
    const eventId = `Ev${randomHex(10).toUpperCase()}`;
    this.counters().eventsPublished += 1;
    const duplicate = this.faults.duplicateNext > 0;
    if (duplicate) this.faults.duplicateNext -= 1;
    this.inflight += 1;
    this.send({
      eventId,
      teamId,
      eventTime: Math.floor(Date.now() / 1000),
      event,
      payloadJson: undefined,
      attempt: 0,
      envelopeIds: [],
      due: 0,
      duplicate,
      queued: false,
      settled: false,
    });
    return eventId;
  }

  /** A text frame from a client (null for a binary one): an ack, or a protocol error. */
  receiveFrame(text: string | null): void {
    const envelopeId = envelopeIdOf(text, (id) => this.outstanding.has(id));
    if (typeof envelopeId !== 'string') {
      this.counters().protocolErrors += 1;
      return;
    }
    const delivery = this.outstanding.get(envelopeId);
    if (!delivery) return; // late or unknown: harmless
    if (this.faults.withholdAcks) {
      this.counters().acksWithheld += 1;
      return;
    }
    this.counters().acks += 1;
    this.settle(delivery, true);
  }

  /** Sends queued deliveries while links and the in-flight window allow; call when either may have opened. */
  pump(): void {
    while (
      this.queue.length > 0 &&
      !this.faults.stall &&
      this.inflight - this.queued < this.opts.maxInFlight
    ) {
      if (!this.links.anyReceiving()) return;
      const d = this.queue.shift();
      if (!d) return;
      if (d.settled) continue;
      d.queued = false;
      this.queued -= 1;
      this.send(d);
    }
  }

  close(): void {
    this.deadlines.close();
  }

  private send(d: Delivery): void {
    if (d.settled) return;
    const copies = d.duplicate && d.attempt === 0 ? 2 : 1;
    let sent = 0;
    for (let i = 0; i < copies; i++) {
      const link = this.nextLink();
      if (!link) break;
      // Made at the first sending, not at publishing, so a flood's queued events hold no text yet.
      const payloadJson = (d.payloadJson ??= eventPayloadJson(this.opts.appId, d));
      d.event = undefined;
      const envelopeId = randomUUID();
      d.envelopeIds.push(envelopeId);
      this.outstanding.set(envelopeId, d);
      sent += 1;
      sendText(link, envelopeFrame(envelopeId, d.attempt, payloadJson));
      this.counters().envelopesDelivered += 1;
      if (d.attempt > 0) this.counters().envelopesRedelivered += 1;
    }
    if (sent === 0) {
      d.queued = true;
      this.queued += 1;
      this.queue.push(d);
      return;
    }
    d.due = performance.now() + this.opts.ackTimeoutMs;
    this.deadlines.track(d);
  }

  /** The link for the next sending, if delivery is not stalled and the in-flight window allows. */
  private nextLink(): RtmLink | undefined {
    if (this.faults.stall) return undefined;
    if (this.inflight - this.queued > this.opts.maxInFlight) return undefined;
    return this.links.nextReceiving();
  }

  private onAckTimeout(d: Delivery): void {
    if (d.settled) return;
    if (d.attempt < this.opts.maxRetries) {
      d.attempt += 1;
      this.send(d);
      return;
    }
    // Never acknowledged: an acknowledged delivery is settled, and its deadline skipped.
    this.counters().eventsExpired += 1;
    this.settle(d, false);
  }

  /**
   * Settles a delivery once. A late ack can arrive while its redelivery waits in the queue: the
   * delivery is settled then and there, and the queued entry is skipped when reached, so an
   * acknowledged event is never delivered again and nothing is counted twice.
   */
  private settle(d: Delivery, acked: boolean): void {
    if (d.settled) return;
    d.settled = true;
    if (d.queued) {
      d.queued = false;
      this.queued -= 1;
    }
    for (const id of d.envelopeIds) this.outstanding.delete(id);
    d.envelopeIds.length = 0;
    // Its deadline entry holds it until due: keep nothing heavy that long.
    d.event = undefined;
    d.payloadJson = undefined;
    // One delivery per event, settled once: each acknowledged event is counted once.
    if (acked) this.counters().eventsAcked += 1;
    this.inflight -= 1;
    this.pump();
  }
}
