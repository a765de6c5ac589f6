// Cheap random hex for the simulator's event ids.
import { randomFillSync } from 'node:crypto';

const randomPool = Buffer.alloc(4096);
let randomAt = randomPool.length;

/** `bytes` random bytes as hex, from a pool refilled 4 KiB at a time. */
export function randomHex(bytes: number): string {
  if (randomAt + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  randomAt += bytes;
  return randomPool.toString('hex', randomAt - bytes, randomAt);
}
