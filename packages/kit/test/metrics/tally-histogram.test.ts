import { Histogram, Registry } from 'prom-client';
import { TallyHistogram } from '../../src/metrics/tally-histogram';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const VALUES = [0, 0.001, 0.0011, 0.05, 0.1, 0.7, 3, 10, 11, 250];

describe('TallyHistogram', () => {
  it("is scraped as exactly the text prom-client's Histogram gives for the same observations", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['outcome'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const tally = new TallyHistogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['outcome'],
      buckets: BUCKETS,
      registers: [ours],
    });
    const ok = tally.series({ outcome: 'ok' });
    for (const v of VALUES) {
      reference.observe({ outcome: 'ok' }, v);
      ok.observe(v);
      reference.observe({ outcome: 'retry' }, v * 2);
      tally.observe({ outcome: 'retry' }, v * 2);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('exposes an unlabelled histogram at 0 before any observation, as prom-client does', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    new Histogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
    new TallyHistogram({ name: 'y_seconds', help: 'h', buckets: BUCKETS, registers: [ours] });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('keeps a bound series counting into what is scraped after a registry reset', async () => {
    const registry = new Registry();
    const tally = new TallyHistogram({
      name: 'z_seconds',
      help: 'h',
      buckets: BUCKETS,
      registers: [registry],
    });
    const series = tally.series({});
    series.observe(0.5);
    registry.resetMetrics();
    series.observe(0.05);
    expect(await registry.metrics()).toContain('z_seconds_count 1\n');
    expect(await registry.metrics()).toContain('z_seconds_sum 0.05\n');
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const tally = new TallyHistogram({ name: 'w_seconds', help: 'h', buckets: BUCKETS, registers: [] });
    expect(() => tally.observe(NaN)).toThrow(TypeError);
    expect(() => tally.observe(Infinity)).toThrow(TypeError);
  });
});
