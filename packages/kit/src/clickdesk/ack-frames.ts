import { randomFillSync } from 'node:crypto';

/** A masked client frame's header: FIN + opcode, length (7 or 7+16 bits), 4-byte mask. */
const SHORT_HEADER = 6;
const MEDIUM_HEADER = 8;

/**
 * The acks of several envelopes (docs/clickdesk-contract.md §2.3: `{"envelope_id": …}`, one
 * text frame each) as one buffer, ready for a single socket write: each a final text frame
 * masked with its own random key, as RFC 6455 §5.3 requires of a client. The `ws` library would
 * allocate, mask and queue every frame on its own; the frames on the wire are the same.
 */
export function encodeAckFrames(envelopeIds: readonly string[]): Buffer {
  const payloads = envelopeIds.map((id) => `{"envelope_id":${JSON.stringify(id)}}`);
  let total = 0;
  const lengths = payloads.map((p) => {
    const n = Buffer.byteLength(p);
    if (n > 0xffff) throw new RangeError('an ack frame over 64 KiB');
    total += (n > 125 ? MEDIUM_HEADER : SHORT_HEADER) + n;
    return n;
  });
  const out = Buffer.allocUnsafe(total);
  const masks = randomFillSync(Buffer.allocUnsafe(4 * payloads.length));
  let at = 0;
  payloads.forEach((payload, i) => {
    const n = lengths[i] as number;
    out[at++] = 0x81; // FIN, text
    if (n > 125) {
      out[at++] = 0x80 | 126;
      out.writeUInt16BE(n, at);
      at += 2;
    } else {
      out[at++] = 0x80 | n;
    }
    const mask = at;
    masks.copy(out, at, 4 * i, 4 * i + 4);
    at += 4;
    out.write(payload, at, n, 'utf8');
    for (let j = 0; j < n; j++) out[at + j] = (out[at + j] as number) ^ (out[mask + (j & 3)] as number);
    at += n;
  });
  return out;
}
