import type { DeadLetter } from '../../core/dead-letters';
import type { DoneOutcome, Outbox, OutboxEffect, OutboxRow } from '../../core/outbox';

interface Entry {
  row: OutboxRow;
  lane: string;
  nextAt: number;
  leased: boolean;
  dead?: { reason: string; at: number };
}

/**
 * In-process outbox (tests, STORAGE=memory): the same ordering, retry and dead-letter rules as
 * the SQL one, within one process; a restart forgets it, as it forgets the inbox.
 */
export class MemoryOutbox implements Outbox {
  // Maps iterate in insertion order: commit order.
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Called by the memory inbox's `complete`. */
  add(effects: readonly OutboxEffect[]): void {
    const at = this.now();
    for (const effect of effects) {
      if (this.entries.has(effect.effectId)) continue;
      this.entries.set(effect.effectId, {
        row: { ...effect, tries: 0, attemptedAt: undefined, createdAt: at },
        lane: `${effect.teamId}:${effect.conversationId}`,
        nextAt: at,
        leased: false,
      });
    }
  }

  /** The bot's echo of this effect arrived: a row whose send left (attempt recorded) is done. */
  settleByEcho(effectId: string): void {
    const entry = this.entries.get(effectId);
    if (entry && !entry.dead && entry.row.attemptedAt !== undefined) this.entries.delete(effectId);
  }

  claim(limit: number): Promise<OutboxRow[]> {
    const now = this.now();
    const seenLanes = new Set<string>();
    const out: OutboxRow[] = [];
    for (const entry of this.entries.values()) {
      if (out.length >= limit) break;
      if (entry.dead || seenLanes.has(entry.lane)) continue;
      seenLanes.add(entry.lane);
      if (entry.leased || entry.nextAt > now) continue;
      entry.leased = true;
      out.push(entry.row);
    }
    return Promise.resolve(out);
  }

  markAttempt(effectId: string): Promise<boolean> {
    const entry = this.entries.get(effectId);
    if (!entry?.leased) return Promise.resolve(false);
    entry.row = { ...entry.row, attemptedAt: this.now() };
    return Promise.resolve(true);
  }

  markDone(effectId: string, _outcome: DoneOutcome): Promise<void> {
    this.entries.delete(effectId);
    return Promise.resolve();
  }

  awaitEcho(effectId: string, at: number): Promise<void> {
    const entry = this.entries.get(effectId);
    if (entry) {
      entry.nextAt = at;
      entry.leased = false;
    }
    return Promise.resolve();
  }

  retryLater(effectId: string, at: number, _error: string, delivered: 'no' | 'unknown'): Promise<void> {
    const entry = this.entries.get(effectId);
    if (entry) {
      entry.row = {
        ...entry.row,
        tries: entry.row.tries + 1,
        attemptedAt: delivered === 'no' ? undefined : entry.row.attemptedAt,
      };
      entry.nextAt = at;
      entry.leased = false;
    }
    return Promise.resolve();
  }

  deadLetter(effectId: string, reason: string): Promise<void> {
    const entry = this.entries.get(effectId);
    if (entry) {
      entry.dead = { reason, at: this.now() };
      entry.leased = false;
    }
    return Promise.resolve();
  }

  renewLeases(): Promise<void> {
    return Promise.resolve();
  }

  releaseLeases(): Promise<void> {
    for (const entry of this.entries.values()) entry.leased = false;
    return Promise.resolve();
  }

  /** Rows not yet delivered, dead letters excluded (tests and diagnostics). */
  get pending(): number {
    return [...this.entries.values()].filter((e) => !e.dead).length;
  }

  deadLetters(): DeadLetter[] {
    return [...this.entries.values()].flatMap((e) =>
      e.dead
        ? [
            {
              kind: 'effect' as const,
              id: e.row.effectId,
              teamId: e.row.teamId,
              reason: e.dead.reason,
              at: e.dead.at,
            },
          ]
        : [],
    );
  }

  revive(effectId: string): boolean {
    const entry = this.entries.get(effectId);
    if (!entry?.dead) return false;
    delete entry.dead;
    entry.nextAt = this.now();
    return true;
  }

  drop(effectId: string): boolean {
    return this.entries.get(effectId)?.dead !== undefined && this.entries.delete(effectId);
  }
}
