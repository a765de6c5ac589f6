/** The `apps.connections.open` budget: at most `limit` calls in any `windowMs` (tier 1: 20 per 60 s, per app). */
export interface OpenBudget {
  limit: number;
  /** Calls counted in the current window, by every instance of the app (the rate governor's view). */
  used: number;
  windowMs: number;
}

export interface OpenPlannerOptions {
  /** The shared view of the budget; undefined (or a failing probe) falls back to this instance's own count. */
  budget?: () => Promise<OpenBudget | undefined>;
  /** Used when the probe knows nothing yet (no call made so far). */
  fallback: { limit: number; windowMs: number };
  /** Opens kept back for urgent replacements: background opens stop when only this many remain. */
  reserve: number;
  /** Urgent permits that may go back to back (a replacement and its retries). */
  burst: number;
  /**
   * A background open waits until no link has been lost, told to go or failed to open for this
   * long (default 1 s): in a storm links die within a fraction of a second, so restoring
   * redundancy then only spends the budget the next urgent open needs.
   */
  calmMs?: number;
  now?: () => number;
}

/**
 * Plans `apps.connections.open` calls so that a reconnect storm never runs the app out of its
 * budget (Terms 4.9: never attempt to exceed a limit), while a link that goes down in calm
 * weather is replaced at once.
 *
 * Urgent opens (no link ClickDesk can deliver on, none being opened) take permits from a small
 * bucket (`burst`: a replacement and its retries) that refills a little faster than the
 * sustainable pace (step = window / limit: 3 s for 20 per minute; refilled every 0.95 step),
 * never faster: a storm is met with an open about every 3 s for as long as it lasts, instead of
 * spending the budget in its first half minute and then leaving the app without a link until the
 * window frees.
 * Background opens (restoring redundancy, or the other links at start-up) go only in calm weather
 * — no link lost, told to go or failed to open for `calmMs` — and leave the last `reserve` calls
 * of the budget to urgent ones; they leave the bucket to urgent opens: in calm weather every link
 * is back within a second, and in a storm (links dying within a fraction of a second) they spend
 * nothing the urgent pace needs.
 * The budget is the rate governor's count, shared by every instance; a permit counts from the
 * moment it is granted, so two links replacing themselves at once never both take the last call.
 */
const REFILL_STEP_FRACTION = 0.95;
const DEFAULT_CALM_MS = 1_000;

export class OpenPlanner {
  private readonly granted: number[] = [];
  private inFlight = 0;
  private openingLinks = 0;
  private tokens: number;
  private refilledAt: number;
  private troubleAt = Number.NEGATIVE_INFINITY;
  private deliveringSince: number | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: OpenPlannerOptions) {
    this.now = opts.now ?? Date.now;
    this.tokens = opts.burst;
    this.refilledAt = this.now();
  }

  /** Links granted a permit that have not yet said hello (or failed): see `opened()`. */
  get opening(): number {
    return this.openingLinks;
  }

  /**
   * 0 when the open may go now (the permit is then taken: call `release()` once the call is
   * answered and `opened()` once the link said hello or failed), else how long to wait before
   * asking again. `urgent` is judged when the turn comes, after earlier requests were decided.
   */
  take(urgent: () => boolean): Promise<number> {
    const decision = this.chain.then(() => this.decide(urgent));
    this.chain = decision.catch(() => undefined);
    return decision;
  }

  /** A link was lost or told to go, or an open failed: background opens wait for calm weather. */
  trouble(): void {
    this.troubleAt = this.now();
  }

  /**
   * Whether any link can be delivered on now. Calm weather counts from the later of the last
   * trouble and the moment delivery resumed: with every link gone a storm shows no trouble, and
   * background opens would otherwise go beside each urgent one.
   */
  delivering(yes: boolean): void {
    if (!yes) this.deliveringSince = undefined;
    else this.deliveringSince ??= this.now();
  }

  /** The permitted call has been answered (or failed): the shared count now includes it. */
  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** The permitted link said hello, or the attempt failed. */
  opened(): void {
    this.openingLinks = Math.max(0, this.openingLinks - 1);
  }

  private async decide(isUrgent: () => boolean): Promise<number> {
    const shared = await this.probe();
    const urgent = isUrgent();
    const now = this.now();
    const { limit, windowMs } = shared ?? this.opts.fallback;
    while (this.granted.length > 0 && (this.granted[0] ?? 0) <= now - windowMs) this.granted.shift();
    const used = Math.max((shared?.used ?? 0) + this.inFlight, this.granted.length);
    const remaining = limit - used;
    const step = windowMs / Math.max(1, limit);
    const { reserve, burst } = this.opts;
    // 5% under the step: the bucket's first permits are spent at once, and a 40 s storm still
    // ends inside the budget (the bucket, start-up opens included, + 40 s / 2.85 s < 20).
    const refillEvery = step * REFILL_STEP_FRACTION;
    this.tokens = Math.min(burst, this.tokens + (now - this.refilledAt) / refillEvery);
    this.refilledAt = now;

    let wait = 0;
    if (remaining <= 0) {
      const oldest = this.granted[0];
      wait = oldest === undefined ? step : Math.min(step, oldest + windowMs - now);
    } else if (urgent) {
      if (this.tokens < 1) wait = (1 - this.tokens) * refillEvery;
    } else if (remaining <= reserve) {
      wait = step;
    } else {
      const calmMs = this.opts.calmMs ?? DEFAULT_CALM_MS;
      if (this.troubleAt === Number.NEGATIVE_INFINITY)
        wait = 0; // start-up: every link at once
      else if (this.deliveringSince === undefined) wait = calmMs;
      else wait = Math.max(this.troubleAt, this.deliveringSince) + calmMs - now;
    }
    if (wait > 0) return Math.max(1, Math.ceil(wait));
    if (urgent) this.tokens -= 1;
    this.granted.push(now);
    this.inFlight += 1;
    this.openingLinks += 1;
    return 0;
  }

  private async probe(): Promise<OpenBudget | undefined> {
    if (!this.opts.budget) return undefined;
    try {
      return await this.opts.budget();
    } catch {
      return undefined;
    }
  }
}
