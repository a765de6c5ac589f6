import { ExchangeLimiter } from '../../src/installations/exchange-limiter';

describe('ExchangeLimiter (code exchanges per client address)', () => {
  it('lets an address fail 5 exchanges per window, then refuses it; other addresses are unaffected', () => {
    const limiter = new ExchangeLimiter({ perAddress: 5 });
    for (let i = 0; i < 5; i++) expect(limiter.take('203.0.113.7')).toBe(true);
    expect(limiter.take('203.0.113.7')).toBe(false);
    expect(limiter.take('::ffff:203.0.113.7')).toBe(false);
    expect(limiter.take('203.0.113.8')).toBe(true);
  });

  it('gives the slot back when an exchange installs, so an admin who installs is never held back', () => {
    const limiter = new ExchangeLimiter({ perAddress: 2 });
    for (let i = 0; i < 10; i++) {
      expect(limiter.take('198.51.100.1')).toBe(true);
      limiter.giveBack('198.51.100.1');
    }
    expect(limiter.take('198.51.100.1')).toBe(true);
    expect(limiter.take('198.51.100.1')).toBe(true);
    expect(limiter.take('198.51.100.1')).toBe(false);
  });

  it('counts IPv6 addresses by their /64, however they are written', () => {
    const limiter = new ExchangeLimiter({ perAddress: 3 });
    expect(limiter.take('2001:db8:1:2::1')).toBe(true);
    expect(limiter.take('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(true);
    expect(limiter.take('2001:db8:1:2:0:0:0:9')).toBe(true);
    expect(limiter.take('2001:db8:1:2::abcd')).toBe(false);
    expect(limiter.take('2001:db8:1:3::1')).toBe(true);
  });

  it('starts an address afresh once its window has passed', async () => {
    const limiter = new ExchangeLimiter({ perAddress: 1, windowMs: 50 });
    expect(limiter.take('192.0.2.1')).toBe(true);
    expect(limiter.take('192.0.2.1')).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(limiter.take('192.0.2.1')).toBe(true);
  });
});
