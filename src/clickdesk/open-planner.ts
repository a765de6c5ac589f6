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
  now?: () => number;
}

/**
 * Plans `apps.connections.open` calls so that a reconnect storm never runs the app out of its
 * budget (Terms 4.9: never attempt to exceed a limit). An urgent open (no link ClickDesk can
 * deliver on) goes at once while half the budget is left, then at half and finally at the
 * sustainable pace (one per window/limit); a background open (restoring redundancy while
 * another link delivers) leaves `reserve` opens for urgent ones and goes at the sustainable
 * pace once half the budget is spent. A permit is counted from the moment it is granted, so
 * two links replacing themselves at once do not both take the last call.
 */
export class OpenPlanner {
  private readonly granted: number[] = [];
  private inFlight = 0;
  private lastGrant = Number.NEGATIVE_INFINITY;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: OpenPlannerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * 0 when the open may go now (the permit is then taken: call `release()` once the call is
   * answered), else how long to wait before asking again.
   */
  take(urgent: boolean): Promise<number> {
    const decision = this.chain.then(() => this.decide(urgent));
    this.chain = decision.catch(() => undefined);
    return decision;
  }

  /** The permitted call has been answered (or failed): the shared count now includes it. */
  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  private async decide(urgent: boolean): Promise<number> {
    const shared = await this.probe();
    const now = this.now();
    const { limit, windowMs } = shared ?? this.opts.fallback;
    while (this.granted.length > 0 && (this.granted[0] ?? 0) <= now - windowMs) this.granted.shift();
    const used = Math.max((shared?.used ?? 0) + this.inFlight, this.granted.length);
    const remaining = limit - used;
    const step = windowMs / Math.max(1, limit);
    const half = limit / 2;
    let wait: number;
    if (remaining <= 0) {
      const oldest = this.granted[0];
      wait = oldest === undefined ? step : Math.min(step, oldest + windowMs - now);
    } else if (urgent) {
      const spacing = remaining > half ? 0 : remaining > this.opts.reserve ? step / 2 : step;
      wait = this.lastGrant + spacing - now;
    } else if (remaining <= this.opts.reserve) {
      wait = step;
    } else {
      wait = this.lastGrant + (remaining > half ? 0 : step) - now;
    }
    if (wait > 0) return Math.max(1, Math.ceil(wait));
    this.granted.push(now);
    this.lastGrant = now;
    this.inFlight += 1;
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
