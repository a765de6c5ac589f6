// The history of an app's links that tests read: the link log and the gaps with none to deliver on.

/** Entries kept in the link log (the newest). */
const LOG_LIMIT = 10_000;

export interface LinkLogEntry {
  at: number;
  open: number;
  deliverable: number;
}

export class LinkAvailability {
  /**
   * Every change of the app's links, in order: when, how many are open and how many ClickDesk
   * can deliver on (open, not told to go).
   */
  readonly log: LinkLogEntry[] = [];
  private gapStartedAt: number | undefined = Date.now();
  private longestGap = 0;

  /** Records the links now open and deliverable; called after every change of the links. */
  note(open: number, deliverable: number): void {
    const last = this.log.at(-1);
    if (last?.open !== open || last.deliverable !== deliverable) {
      this.log.push({ at: Date.now(), open, deliverable });
      if (this.log.length > LOG_LIMIT) this.log.shift();
    }
    const none = deliverable === 0;
    if (none && this.gapStartedAt === undefined) this.gapStartedAt = Date.now();
    else if (!none && this.gapStartedAt !== undefined) {
      this.longestGap = Math.max(this.longestGap, Date.now() - this.gapStartedAt);
      this.gapStartedAt = undefined;
    }
  }

  /** The longest time, in ms since `reset()`, with no link to deliver on (the current gap included). */
  get longestGapMs(): number {
    const current = this.gapStartedAt === undefined ? 0 : Date.now() - this.gapStartedAt;
    return Math.max(this.longestGap, current);
  }

  /** Forgets the gaps so far; a gap starts now if no link can deliver. */
  reset(deliverable: number): void {
    this.longestGap = 0;
    this.gapStartedAt = deliverable === 0 ? Date.now() : undefined;
  }
}
