import { OpenPlanner, type OpenBudget } from '../../src/clickdesk/open-planner';

/** Drives a planner on a fake clock: each request waits as told, then asks again. */
function drive(planner: OpenPlanner, clock: { now: number }) {
  return async (urgent: boolean): Promise<number> => {
    for (;;) {
      const wait = await planner.take(() => urgent);
      if (wait === 0) {
        planner.release();
        planner.opened();
        return clock.now;
      }
      clock.now += wait;
    }
  };
}

const WINDOW = 60_000;

describe('planning apps.connections.open calls (Terms 4.9)', () => {
  it('replaces links at once in calm weather, then paces a storm at the sustainable rate within 20 calls a window', async () => {
    const clock = { now: 0 };
    const planner = new OpenPlanner({
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 1,
      burst: 3,
      now: () => clock.now,
    });
    const open = drive(planner, clock);
    const grants: number[] = [];
    for (let i = 0; i < 60; i++) grants.push(await open(true));
    // A burst first (every link at once, and a retry)...
    expect(grants.slice(0, 3)).toEqual([0, 0, 0]);
    // ...then paced: never more than 20 in any window, and never idle longer than the sustainable pace.
    for (let i = 0; i < grants.length; i++) {
      const inWindow = grants.filter((t) => t >= (grants[i] ?? 0) && t < (grants[i] ?? 0) + WINDOW).length;
      expect(inWindow).toBeLessThanOrEqual(20);
    }
    // An open about every 3 s for as long as a 40 s storm lasts: the budget is not spent early.
    const storm = grants.filter((t) => t <= 40_000);
    expect(storm.length).toBeGreaterThanOrEqual(3 + 13);
    const gaps = storm.slice(1).map((t, i) => t - (storm[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3_000);
    // Past 50 s the burst is paid back (its calls age out together): one longer wait a window.
    const all = grants.slice(1).map((t, i) => t - (grants[i] ?? 0));
    expect(Math.max(...all)).toBeLessThanOrEqual(4 * 3_000);
    expect(all.filter((g) => g > 3_000).length).toBeLessThanOrEqual(Math.ceil((grants.at(-1) ?? 0) / WINDOW));
  });

  it('keeps the last calls for urgent replacements: background opens wait, urgent ones go', async () => {
    const clock = { now: 0 };
    const shared: OpenBudget = { limit: 20, used: 18, windowMs: WINDOW }; // other instances used 18
    const planner = new OpenPlanner({
      budget: () => Promise.resolve(shared),
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 2,
      burst: 5,
      now: () => clock.now,
    });
    expect(await planner.take(() => false)).toBeGreaterThan(0);
    expect(await planner.take(() => true)).toBe(0);
    planner.release();
    shared.used = 19;
    expect(await planner.take(() => true)).toBe(0);
    planner.release();
    shared.used = 20;
    expect(await planner.take(() => true)).toBeGreaterThan(0); // none left: wait, do not call
  });

  it('counts a permit from the moment it is granted, so concurrent requests cannot both take the last call', async () => {
    const clock = { now: 0 };
    const shared: OpenBudget = { limit: 20, used: 19, windowMs: WINDOW };
    const planner = new OpenPlanner({
      budget: () => Promise.resolve(shared),
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 0,
      burst: 5,
      now: () => clock.now,
    });
    const [a, b] = await Promise.all([planner.take(() => true), planner.take(() => true)]);
    expect([a, b].filter((w) => w === 0)).toHaveLength(1);
  });

  it('opens every link at once at start-up, before any trouble', async () => {
    const clock = { now: 0 };
    const planner = new OpenPlanner({
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 1,
      burst: 2,
      now: () => clock.now,
    });
    expect(await planner.take(() => true)).toBe(0);
    for (let i = 0; i < 3; i++) expect(await planner.take(() => false)).toBe(0);
  });

  it('in a storm, background opens wait for a link that delivered for a calm second', async () => {
    const clock = { now: 0 };
    const planner = new OpenPlanner({
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 1,
      burst: 2,
      calmMs: 1_000,
      now: () => clock.now,
    });
    planner.trouble(); // every link lost
    planner.delivering(false);
    expect(await planner.take(() => false)).toBeGreaterThan(0); // no link delivers: background waits
    expect(await planner.take(() => true)).toBe(0); // the urgent open goes
    clock.now += 200;
    planner.delivering(true); // its link said hello
    expect(await planner.take(() => false)).toBe(1_000); // calm counts from delivery resuming
    clock.now += 500;
    planner.trouble(); // and it was told to go
    planner.delivering(false);
    clock.now += 2_000;
    expect(await planner.take(() => false)).toBeGreaterThan(0); // quiet only because nothing delivers
    planner.delivering(true);
    clock.now += 1_000;
    while ((await planner.take(() => true)) === 0) planner.release(); // urgent opens empty the bucket
    expect(await planner.take(() => false)).toBe(0); // calm: background opens leave the bucket alone
  });

  it.each([40_000, 40_700, 41_400, 42_100])(
    'holds a link through a storm ending at %i ms within the budget, and both links within an urgent turn and a calm second of its end',
    async (STORM_END) => {
      // Two links; in the storm every link dies 300 ms after its hello; an open takes 100 ms.
      const clock = { now: 0 };
      const planner = new OpenPlanner({
        fallback: { limit: 20, windowMs: WINDOW },
        reserve: 1,
        burst: 2,
        now: () => clock.now,
      });
      const links: Array<{ upAt: number; downAt: number } | 'opening' | undefined> = [undefined, undefined];
      const nextWake: number[] = [0, 0];
      const grants: number[] = [];
      let lastDelivering = false;
      let gapStart: number | undefined = 0;
      let longestGap = 0;
      let settledAt: number | undefined;
      for (; clock.now <= 70_000; clock.now += 10) {
        for (let i = 0; i < 2; i++) {
          const link = links[i];
          if (link === 'opening' || link === undefined) continue;
          if (clock.now >= link.downAt) {
            links[i] = undefined;
            planner.trouble();
          }
        }
        const delivering = links.filter((l) => typeof l === 'object' && clock.now >= l.upAt);
        if (delivering.length > 0 !== lastDelivering) {
          lastDelivering = delivering.length > 0;
          planner.delivering(lastDelivering);
          if (lastDelivering && gapStart !== undefined) {
            longestGap = Math.max(longestGap, clock.now - gapStart);
            gapStart = undefined;
          } else if (!lastDelivering) gapStart = clock.now;
        }
        if (settledAt === undefined && clock.now > STORM_END && delivering.length === 2)
          settledAt = clock.now;
        for (let i = 0; i < 2; i++) {
          if (links[i] !== undefined || clock.now < (nextWake[i] ?? 0)) continue;
          const urgent = delivering.length === 0 && planner.opening === 0;
          const wait = await planner.take(() => urgent);
          if (wait > 0) {
            nextWake[i] = clock.now + Math.min(wait, 1_000);
            continue;
          }
          grants.push(clock.now);
          planner.release();
          planner.opened();
          const upAt = clock.now + 100;
          links[i] = { upAt, downAt: upAt < STORM_END ? upAt + 300 : Number.POSITIVE_INFINITY };
        }
      }
      for (const g of grants)
        expect(grants.filter((t) => t >= g && t < g + WINDOW).length).toBeLessThanOrEqual(20);
      expect(longestGap).toBeLessThanOrEqual(3_000);
      expect(settledAt).toBeDefined();
      // The next urgent open (at most a 2.85 s turn away), a calm second, the open itself.
      expect((settledAt ?? Infinity) - STORM_END).toBeLessThanOrEqual(2_850 + 1_000 + 100 + 10);
    },
  );
});
