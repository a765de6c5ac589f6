/**
 * Server-to-client WebSocket text frames (RFC 6455 §5.2: final, unmasked) for several texts, as
 * one buffer for a single socket write. The bytes are those `ws` would send frame by frame;
 * the simulator writes a busy link's frames of one turn together, as a real server's kernel
 * would coalesce them.
 */
export function encodeTextFrames(texts: readonly string[]): Buffer {
  const lengths = texts.map((t) => Buffer.byteLength(t));
  let total = 0;
  for (const n of lengths) total += headerLength(n) + n;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  texts.forEach((text, i) => {
    const n = lengths[i] as number;
    out[at++] = 0x81; // FIN, text
    if (n <= 125) {
      out[at++] = n;
    } else if (n <= 0xffff) {
      out[at++] = 126;
      out.writeUInt16BE(n, at);
      at += 2;
    } else {
      out[at++] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), at);
      out.writeUInt32BE(n >>> 0, at + 4);
      at += 8;
    }
    at += out.write(text, at, n, 'utf8');
  });
  return out;
}

function headerLength(n: number): number {
  return n <= 125 ? 2 : n <= 0xffff ? 4 : 10;
}
