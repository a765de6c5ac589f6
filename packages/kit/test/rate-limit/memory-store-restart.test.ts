import type { TokenBucket } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';

const conversation = (key: string): TokenBucket => ({
  kind: 'token',
  key,
  method: 'chat.postMessage',
  ratePerSec: 1,
  burst: 3,
  inFlightMs: 15_000,
});

/** Posts one at a time (each answered at once) from `from` until `until`; returns when each left. */
async function sendAll(
  store: MemoryRateStore,
  clock: { t: number },
  key: string,
  until: number,
): Promise<number[]> {
  const sent: number[] = [];
  while (clock.t <= until) {
    const got = await store.tryAcquire([conversation(key)]);
    if (got.ok) {
      sent.push(clock.t);
      await store.settle([conversation(key)], got.ticket);
    } else clock.t += got.waitMs;
  }
  return sent;
}

/** Terms 4.9: a restarted process must not spend a burst ClickDesk may already have seen. */
describe('the in-memory rate store after a restart', () => {
  it("starts a conversation's bucket empty when first seen right after start: steady rate, no burst", async () => {
    const clock = { t: 1_000_000 };
    const store = new MemoryRateStore(() => clock.t);
    const sent = await sendAll(store, clock, 'conv:C1', clock.t + 4_000);
    // The previous process may have emptied the bucket at the moment this one started: the
    // bucket refills at 1 a second from then, so at most one call a second in the first seconds.
    expect(sent.map((t) => t - 1_000_000)).toEqual([1_000, 2_000, 3_000, 4_000]);
  });

  it('gives a conversation first seen a burst later its full burst: ClickDesk has refilled it by then', async () => {
    const clock = { t: 1_000_000 };
    const store = new MemoryRateStore(() => clock.t);
    clock.t += 3_000;
    const sent = await sendAll(store, clock, 'conv:C2', clock.t);
    expect(sent).toHaveLength(3);
  });

  it('starts full when ClickDesk started with this process (the in-process simulator): the burst at once', async () => {
    const clock = { t: 1_000_000 };
    const store = new MemoryRateStore(() => clock.t, { freshStart: true });
    const sent = await sendAll(store, clock, 'conv:C1', clock.t + 3_000);
    expect(sent.map((t) => t - 1_000_000)).toEqual([0, 0, 0, 1_000, 2_000, 3_000]);
  });
});
