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

  it('in a storm, background opens yield the permits to urgent ones', async () => {
    const clock = { now: 0 };
    const planner = new OpenPlanner({
      fallback: { limit: 20, windowMs: WINDOW },
      reserve: 2,
      burst: 5,
      now: () => clock.now,
    });
    for (let i = 0; i < 4; i++) expect(await planner.take(() => true)).toBe(0);
    expect(await planner.take(() => false)).toBeGreaterThan(0); // one permit left: kept for an urgent open
    expect(await planner.take(() => true)).toBe(0);
  });
});
