import { AdaptiveBatch } from '../../src/lifecycle/adaptive-batch';

describe('AdaptiveBatch', () => {
  it('shrinks at once to what fits the target when a batch overran', () => {
    const batch = new AdaptiveBatch({ targetMs: 8, max: 2_000, initial: 1_000 });
    batch.observe(1_000, 200); // 5 rows/ms: 40 fit in 8 ms
    expect(batch.size).toBe(40);
  });

  it('grows at most twofold per batch when there was room, and never past max', () => {
    const batch = new AdaptiveBatch({ targetMs: 8, max: 500, initial: 100 });
    batch.observe(100, 0.1);
    expect(batch.size).toBe(200);
    batch.observe(200, 0.1);
    expect(batch.size).toBe(400);
    batch.observe(400, 0.1);
    expect(batch.size).toBe(500);
  });

  it('keeps at least min rows however slow the batches, and ignores empty ones', () => {
    const batch = new AdaptiveBatch({ targetMs: 8, max: 2_000, min: 20 });
    batch.observe(100, 10_000);
    expect(batch.size).toBe(20);
    batch.observe(0, 0);
    expect(batch.size).toBe(20);
  });
});
