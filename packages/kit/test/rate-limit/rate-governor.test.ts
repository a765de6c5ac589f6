import { CONTRACT_LIMITS, type RateLimits } from '../../src/rate-limit/bucket-spec';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor, type GovernedCall } from '../../src/rate-limit/rate-governor';
import { ClickDeskApiError } from '../../src/clickdesk/web-api-client';
import { silentLogger } from '../../src/logging/create-logger';

const limits = (perMethod: Record<string, number>, windowMs = 400): RateLimits => ({
  ...CONTRACT_LIMITS,
  perMethod,
  windowMs,
  marginMs: 0,
  perConversation: { ratePerSec: 1000, burst: 1000 },
});

const governor = (l: RateLimits, extra: Partial<ConstructorParameters<typeof RateGovernor>[0]> = {}) =>
  new RateGovernor({
    limits: l,
    store: new MemoryRateStore(),
    maxQueuePerMethod: 100,
    deadlineMs: { reply: 5_000, background: 5_000 },
    logger: silentLogger(),
    ...extra,
  });

const call = (
  method: string,
  priority: GovernedCall['priority'] = 'reply',
  conversationId?: string,
): GovernedCall => ({
  method,
  scope: 'team:T1',
  priority,
  conversationId,
});

describe('RateGovernor', () => {
  it('holds calls beyond the limit until the window slides, never exceeding it in any window', async () => {
    // Admission times as the store saw them (the moment each call was let through).
    let clock = 0;
    const store = new MemoryRateStore(() => (clock = Date.now()));
    const admitted: number[] = [];
    const tryAcquire = store.tryAcquire.bind(store);
    store.tryAcquire = async (buckets) => {
      const result = await tryAcquire(buckets);
      if (result.ok) admitted.push(clock);
      return result;
    };
    const g = governor(limits({ 'team.info': 3 }), { store });
    await Promise.all(Array.from({ length: 7 }, () => g.run(call('team.info'), () => Promise.resolve())));
    expect(admitted).toHaveLength(7);
    for (const t of admitted)
      expect(admitted.filter((u) => u >= t && u < t + 400).length).toBeLessThanOrEqual(3);
    expect(Math.max(...admitted) - Math.min(...admitted)).toBeGreaterThanOrEqual(800);
  });

  it('lets bot replies go ahead of background calls waiting for the same bucket', async () => {
    const g = governor(limits({ 'conversations.info': 1 }));
    const order: string[] = [];
    await g.run(call('conversations.info', 'background'), () => Promise.resolve(order.push('first')));
    const background = g.run(call('conversations.info', 'background'), () =>
      Promise.resolve(order.push('background')),
    );
    const reply = g.run(call('conversations.info', 'reply'), () => Promise.resolve(order.push('reply')));
    await Promise.all([background, reply]);
    expect(order).toEqual(['first', 'reply', 'background']);
  });

  it('refuses with RATE_QUEUE_FULL once a method queue is full, instead of growing', async () => {
    const g = governor(limits({ 'agents.list': 1 }, 60_000), { maxQueuePerMethod: 2 });
    await g.run(call('agents.list'), () => Promise.resolve());
    const waiting = [
      g.run(call('agents.list'), () => Promise.resolve()),
      g.run(call('agents.list'), () => Promise.resolve()),
    ];
    await expect(g.run(call('agents.list'), () => Promise.resolve())).rejects.toMatchObject({
      code: 'RATE_QUEUE_FULL',
    });
    expect(g.queueLength).toBe(2);
    g.close();
    await expect(Promise.all(waiting)).rejects.toMatchObject({ code: 'RATE_QUEUE_CLOSED' });
  });

  it('refuses a call whose deadline passes while it waits', async () => {
    const g = governor(limits({ 'agents.list': 1 }, 60_000), { deadlineMs: { reply: 50, background: 50 } });
    await g.run(call('agents.list'), () => Promise.resolve());
    await expect(g.run(call('agents.list'), () => Promise.resolve())).rejects.toMatchObject({
      code: 'RATE_DEADLINE',
    });
    expect(g.queueLength).toBe(0);
  });

  it('does not hold one conversation behind another that is at its own limit', async () => {
    const l = { ...limits({ 'chat.postMessage': 100 }), perConversation: { ratePerSec: 1, burst: 1 } };
    const g = governor(l);
    const sent: string[] = [];
    await g.run(call('chat.postMessage', 'reply', 'busy'), () => Promise.resolve(sent.push('busy-1')));
    const busy = g.run(call('chat.postMessage', 'reply', 'busy'), () => Promise.resolve(sent.push('busy-2')));
    await g.run(call('chat.postMessage', 'reply', 'quiet'), () => Promise.resolve(sent.push('quiet-1')));
    expect(sent).toEqual(['busy-1', 'quiet-1']);
    await busy;
    expect(sent).toEqual(['busy-1', 'quiet-1', 'busy-2']);
  });

  it('pauses a bucket for Retry-After after a 429 and then retries the call', async () => {
    const ratelimited: string[] = [];
    const g = governor(limits({ 'team.info': 10 }), {
      observer: { ratelimited: (m) => ratelimited.push(m) },
    });
    let attempts = 0;
    const start = Date.now();
    const result = await g.run(call('team.info'), () => {
      attempts += 1;
      if (attempts === 1)
        return Promise.reject(new ClickDeskApiError('CLICKDESK_RATE_LIMITED', 'team.info', 'ratelimited', 1));
      return Promise.resolve('ok');
    });
    expect(result).toBe('ok');
    expect(attempts).toBe(2);
    expect(Date.now() - start).toBeGreaterThanOrEqual(950);
    expect(ratelimited).toEqual(['team.info']);
  });

  it('adopts a lower limit and the used count the server reports in its headers', async () => {
    const g = governor(limits({ 'team.info': 10 }, 60_000));
    await g.run(call('team.info'), () => Promise.resolve());
    await g.observeHeaders(
      call('team.info'),
      new Headers({ 'x-ratelimit-limit': '4', 'x-ratelimit-remaining': '1' }),
    );
    const [snapshot] = await g.snapshot();
    expect(snapshot).toMatchObject({ method: 'team.info', limit: 4, used: 3 });
  });

  it('goes back up when the server raises the limit again, seen on a call sent after the lowering', async () => {
    const g = governor(limits({ 'team.info': 10 }, 60_000));
    const headers = (limit: number, remaining: number) =>
      new Headers({ 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(remaining) });
    await g.run(call('team.info'), () => g.observeHeaders(call('team.info'), headers(2, 1)));
    expect((await g.snapshot())[0]).toMatchObject({ limit: 2 });
    await g.run(call('team.info'), () => g.observeHeaders(call('team.info'), headers(20, 18)));
    expect((await g.snapshot())[0]).toMatchObject({ limit: 20 });
    // Twelve more calls fit at once under the raised limit (two already count).
    await Promise.all(Array.from({ length: 12 }, () => g.run(call('team.info'), () => Promise.resolve())));
    expect((await g.snapshot())[0]).toMatchObject({ limit: 20, used: 14 });
  });

  it('does not let an answer to a call sent before a lowering raise the limit back', async () => {
    const g = governor(limits({ 'team.info': 10 }, 60_000));
    const headers = (limit: number) =>
      new Headers({ 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0' });
    let releaseStale: () => void = () => undefined;
    const staleAnswered = new Promise<void>((resolve) => (releaseStale = resolve));
    // The stale call leaves first, while the server still allows 10; its answer comes back last.
    const stale = g.run(call('team.info'), async () => {
      await staleAnswered;
      await g.observeHeaders(call('team.info'), headers(10));
    });
    await g.run(call('team.info'), () => g.observeHeaders(call('team.info'), headers(3)));
    releaseStale();
    await stale;
    expect((await g.snapshot())[0]).toMatchObject({ limit: 3 });
  });

  it('ignores malformed rate-limit headers', async () => {
    const g = governor(limits({ 'team.info': 10 }, 60_000));
    for (const [limit, remaining] of [
      ['abc', '1'],
      ['0', '0'],
      ['5', '-1'],
      ['2.5', '1'],
    ])
      await g.observeHeaders(
        call('team.info'),
        new Headers({ 'x-ratelimit-limit': limit ?? '', 'x-ratelimit-remaining': remaining ?? '' }),
      );
    expect((await g.snapshot())[0]).toMatchObject({ limit: 10, used: 0 });
  });

  it('lists every limited method with its limit and planned ceiling before any call', async () => {
    const g = governor({ ...CONTRACT_LIMITS });
    const snapshot = await g.snapshot();
    expect(snapshot.map((s) => s.method).sort()).toEqual(Object.keys(CONTRACT_LIMITS.perMethod).sort());
    expect(snapshot.find((s) => s.method === 'chat.postMessage')).toEqual({
      method: 'chat.postMessage',
      limit: 600,
      plannedLimit: (600 * 60_000) / 60_250,
      windowSeconds: 60,
      used: 0,
      queued: 0,
    });
  });

  it('reports utilisation per method for metrics', async () => {
    const g = governor(limits({ 'auth.test': 4 }, 60_000));
    await g.run(call('auth.test'), () => Promise.resolve());
    await g.run(call('auth.test'), () => Promise.resolve());
    expect(await g.snapshot()).toEqual([
      { method: 'auth.test', limit: 4, plannedLimit: 4, windowSeconds: 60, used: 2, queued: 0 },
    ]);
  });
});
