import type { Effect, DoneOutcome, Outbox, OutboxEffect, OutboxRow } from '../../core/outbox';
import { describeError } from '../../errors';
import type { LeaseOptions } from './lease-options';
import type { SqlRunner } from './sql-database';
import type { StorageContext } from './storage-context';

interface Payload {
  conversationId: string;
  effect: Effect;
}

/** An outbox row ready to insert: sealed outside the transaction that commits it. */
export interface SealedEffect {
  readonly params: readonly unknown[];
}

const INSERT =
  "INSERT INTO outbox (effect_id, event_id, team_id, subject_ref, lane, kind, payload, state, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (effect_id) DO NOTHING";

/**
 * The durable outbox. Rows are written by the inbox's `complete`, in the transaction that marks
 * their event handled; the payload (conversation id and text) is encrypted under the visitor's
 * key, so erasing the visitor erases their pending effects and dead letters too. Only the oldest
 * pending row of a conversation (`lane`) is claimable: replies go out in commit order. A
 * delivered row is deleted; a dead one stays, encrypted, until an operator retries or drops it.
 */
export class SqlOutbox implements Outbox {
  private reclaimOwn = true;

  constructor(
    private readonly ctx: StorageContext,
    private readonly lease: LeaseOptions,
  ) {}

  /** Encrypts an effect for `insert`; undefined when its subject was erased (nothing to send). */
  async seal(effect: OutboxEffect): Promise<SealedEffect | undefined> {
    const { teamId, subject } = effect;
    const subjectRef = subject ? this.ctx.subjectRef(teamId, subject) : '';
    if (await this.ctx.tombstones.isErased(teamId, subjectRef)) return undefined;
    const key = await this.ctx.keyOf(teamId, subjectRef || undefined);
    const payload: Payload = { conversationId: effect.conversationId, effect: effect.effect };
    const sealed = this.ctx.seal(
      { table: 'outbox', teamId, recordId: effect.effectId, field: 'payload' },
      payload,
      key,
    );
    const now = this.ctx.now();
    return {
      params: [
        effect.effectId,
        effect.eventId,
        teamId,
        subjectRef,
        this.ctx.conversationRef(teamId, effect.conversationId),
        effect.effect.kind,
        sealed,
        now,
        now,
      ],
    };
  }

  async insert(tx: SqlRunner, sealed: SealedEffect): Promise<void> {
    await tx.run(INSERT, sealed.params);
  }

  async claim(limit: number): Promise<OutboxRow[]> {
    const now = this.ctx.now();
    const { instanceId, leaseMs } = this.lease;
    // Right after start, rows this instance held before a restart are its own to take back.
    const own = this.reclaimOwn ? ' OR o.lease_owner = ?' : '';
    const ownParam = this.reclaimOwn ? [instanceId] : [];
    const rows = await this.ctx.db.all<{
      effect_id: string;
      event_id: string;
      team_id: string;
      subject_ref: string;
      payload: Buffer;
      tries: number;
      attempted_at: number | null;
      created_at: number;
    }>(
      `SELECT o.effect_id, o.event_id, o.team_id, o.subject_ref, o.payload, o.tries, o.attempted_at, o.created_at FROM outbox o
       WHERE o.state = 'pending' AND o.next_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?${own})
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.lane = o.lane AND p.state = 'pending' AND p.seq < o.seq)
       ORDER BY o.seq LIMIT ?`,
      [now, now, ...ownParam, limit],
    );
    // Own rows beyond this batch are still to be taken back (the heartbeat keeps renewing them).
    if (rows.length < limit) this.reclaimOwn = false;
    if (rows.length === 0) return [];
    const claimed = await this.ctx.db.write(async (tx) => {
      const mine: typeof rows = [];
      for (const row of rows) {
        const won = await tx.run(
          `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE effect_id = ? AND state = 'pending' AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
          [instanceId, now + leaseMs, row.effect_id, now, instanceId],
        );
        if (won === 1) mine.push(row);
      }
      return mine;
    });
    const out: OutboxRow[] = [];
    // Each row is decrypted alone: one that cannot be is dead-lettered, the others go on.
    for (const row of claimed) {
      let payload: Payload | undefined;
      try {
        payload = await this.ctx.open<Payload>(
          { table: 'outbox', teamId: row.team_id, recordId: row.effect_id, field: 'payload' },
          row.payload,
          { subjectRef: row.subject_ref },
        );
      } catch (err) {
        await this.deadLetter(row.effect_id, `undecryptable:${describeError(err).code}`);
        continue;
      }
      if (!payload) {
        await this.markDone(row.effect_id, 'erased'); // its visitor was erased meanwhile
        continue;
      }
      out.push({
        effectId: row.effect_id,
        eventId: row.event_id,
        teamId: row.team_id,
        conversationId: payload.conversationId,
        effect: payload.effect,
        tries: row.tries,
        attemptedAt: row.attempted_at ?? undefined,
        createdAt: row.created_at,
      });
    }
    return out;
  }

  /**
   * The bot's echo of this effect arrived: ClickDesk has the message. A row still waiting on the
   * outcome of a send that left (its attempt recorded) is done; a row never sent is left alone.
   */
  async settleByEcho(tx: SqlRunner, teamId: string, effectId: string): Promise<void> {
    await tx.run(
      "DELETE FROM outbox WHERE effect_id = ? AND team_id = ? AND state = 'pending' AND attempted_at IS NOT NULL",
      [effectId, teamId],
    );
  }

  async markAttempt(effectId: string): Promise<boolean> {
    const changed = await this.ctx.db.write((tx) =>
      tx.run(
        "UPDATE outbox SET attempted_at = ? WHERE effect_id = ? AND lease_owner = ? AND state = 'pending'",
        [this.ctx.now(), effectId, this.lease.instanceId],
      ),
    );
    return changed === 1;
  }

  async markDone(effectId: string, _outcome: DoneOutcome): Promise<void> {
    // A lost lease leaves the row to its new holder, which finds the message in the history.
    await this.ctx.db.write((tx) =>
      tx.run('DELETE FROM outbox WHERE effect_id = ? AND lease_owner = ?', [effectId, this.lease.instanceId]),
    );
  }

  async awaitEcho(effectId: string, at: number): Promise<void> {
    await this.ctx.db.write((tx) =>
      tx.run(
        'UPDATE outbox SET next_at = ?, lease_owner = NULL, lease_until = NULL WHERE effect_id = ? AND lease_owner = ?',
        [at, effectId, this.lease.instanceId],
      ),
    );
  }

  async retryLater(effectId: string, at: number, error: string, delivered: 'no' | 'unknown'): Promise<void> {
    const clearAttempt = delivered === 'no' ? ', attempted_at = NULL' : '';
    await this.ctx.db.write((tx) =>
      tx.run(
        `UPDATE outbox SET tries = tries + 1, next_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL${clearAttempt} WHERE effect_id = ? AND lease_owner = ?`,
        [at, error.slice(0, 200), effectId, this.lease.instanceId],
      ),
    );
  }

  async deadLetter(effectId: string, reason: string): Promise<void> {
    await this.ctx.db.write((tx) =>
      tx.run(
        "UPDATE outbox SET state = 'dead', dead_at = ?, dead_reason = ?, lease_owner = NULL, lease_until = NULL WHERE effect_id = ? AND lease_owner = ?",
        [this.ctx.now(), reason.slice(0, 200), effectId, this.lease.instanceId],
      ),
    );
  }

  reclaimOwnLeases(): void {
    this.reclaimOwn = true;
  }

  async releaseLeases(): Promise<void> {
    await this.ctx.db.write((tx) =>
      tx.run(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND state = 'pending'",
        [this.lease.instanceId],
      ),
    );
  }

  async renewLeases(): Promise<void> {
    await this.ctx.db.write((tx) =>
      tx.run("UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND state = 'pending'", [
        this.ctx.now() + this.lease.leaseMs,
        this.lease.instanceId,
      ]),
    );
  }
}
