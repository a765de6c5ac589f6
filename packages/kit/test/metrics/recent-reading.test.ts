import { recentReading } from '../../src/metrics/recent-reading';

/** A source whose reads resolve only when the test says so. */
function gatedSource() {
  const gates: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }> = [];
  const read = jest.fn(() => new Promise<number>((resolve, reject) => gates.push({ resolve, reject })));
  return { read, gates };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('recentReading', () => {
  it('waits for the first reading, then answers from memory while the next read is still pending', async () => {
    let clock = 0;
    const { read, gates } = gatedSource();
    const get = recentReading(read, { refreshMs: 1_000, maxAgeMs: 60_000, now: () => clock });
    const first = get();
    gates[0]!.resolve(1);
    await expect(first).resolves.toBe(1);

    clock = 500;
    await expect(get()).resolves.toBe(1);
    expect(read).toHaveBeenCalledTimes(1); // fresh enough: not read again

    clock = 2_000;
    await expect(get()).resolves.toBe(1); // stale: served at once, re-read behind it
    await expect(get()).resolves.toBe(1);
    expect(read).toHaveBeenCalledTimes(2); // one read at a time
    gates[1]!.resolve(2);
    await settle();
    await expect(get()).resolves.toBe(2);
  });

  it('keeps the last reading when a background read fails, and tries again at the next call', async () => {
    let clock = 0;
    const { read, gates } = gatedSource();
    const get = recentReading(read, { refreshMs: 1_000, maxAgeMs: 60_000, now: () => clock });
    const first = get();
    gates[0]!.resolve(1);
    await first;
    clock = 2_000;
    await expect(get()).resolves.toBe(1);
    gates[1]!.reject(new Error('database unreachable'));
    await settle();
    await expect(get()).resolves.toBe(1);
    expect(read).toHaveBeenCalledTimes(3);
  });

  it('never publishes a reading older than maxAgeMs: the call waits for a new one, or fails with it', async () => {
    let clock = 0;
    const { read, gates } = gatedSource();
    const get = recentReading(read, { refreshMs: 1_000, maxAgeMs: 60_000, now: () => clock });
    const first = get();
    gates[0]!.resolve(1);
    await first;

    clock = 61_000;
    const waited = get();
    gates[1]!.resolve(7);
    await expect(waited).resolves.toBe(7);

    clock = 122_001;
    const failed = get();
    gates[2]!.reject(new Error('database unreachable'));
    await expect(failed).rejects.toThrow('database unreachable');
  });
});
