import type { Effect, DoneOutcome, Outbox, OutboxEffect, OutboxRow } from '../../core/outbox';
import { describeError } from '../../errors';
import type { LeaseOptions } from './lease-options';
import { writeStatement, type SqlRunner } from './sql-database';
import type { StorageContext } from './storage-context';
import { WriteGather } from './write-gather';

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

  /**
   * PostgreSQL: the attempts (and the deliveries) of all effects in flight are marked by one
   * statement per group commit, not one round trip each (in-process SQLite needs no gathering).
   */
  private readonly attempts: WriteGather<string, boolean> | undefined;
  private readonly dones: WriteGather<string, undefined> | undefined;

  constructor(
    private readonly ctx: StorageContext,
    private readonly lease: LeaseOptions,
  ) {
    if (ctx.db.dialect !== 'postgres') return;
    this.attempts = new WriteGather(ctx.db, 'delivery', { statement: true }, async (tx, ids) => {
      const marked = await tx.all<{ effect_id: string }>(
        "UPDATE outbox SET attempted_at = ? WHERE effect_id = ANY(?::text[]) AND lease_owner = ? AND state = 'pending' RETURNING effect_id",
        [this.ctx.now(), [...new Set(ids)].sort(), this.lease.instanceId],
      );
      const won = new Set(marked.map((r) => r.effect_id));
      return ids.map((id) => won.has(id));
    });
    this.dones = new WriteGather(ctx.db, 'delivery', { statement: true }, async (tx, ids) => {
      await tx.run('DELETE FROM outbox WHERE effect_id = ANY(?::text[]) AND lease_owner = ?', [
        [...new Set(ids)].sort(),
        this.lease.instanceId,
      ]);
      return ids.map(() => undefined);
    });
  }

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

  /**
   * SQLite: inserts the rows in this order (a conversation's replies go out in it), one prepared
   * row at a time. PostgreSQL writes them in the completion's statement (`postgres-completion.ts`).
   */
  async insertAll(tx: SqlRunner, rows: readonly SealedEffect[]): Promise<void> {
    for (const row of rows) await tx.run(INSERT, row.params);
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
    const lease = `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?) AND effect_id`;
    const claimed = await this.ctx.db.write(
      async (tx) => {
        if (this.ctx.db.dialect === 'postgres') {
          // One statement for the batch; rows locked in key order, as another instance's claim locks them.
          const ids = rows.map((r) => r.effect_id).sort();
          const won = await tx.all<{ effect_id: string }>(`${lease} = ANY(?::text[]) RETURNING effect_id`, [
            instanceId,
            now + leaseMs,
            now,
            instanceId,
            ids,
          ]);
          const mine = new Set(won.map((r) => r.effect_id));
          return rows.filter((r) => mine.has(r.effect_id));
        }
        const mine: typeof rows = [];
        for (const row of rows)
          if (
            (await tx.run(`${lease} = ?`, [instanceId, now + leaseMs, now, instanceId, row.effect_id])) === 1
          )
            mine.push(row);
        return mine;
      },
      'delivery',
      { statement: this.ctx.db.dialect === 'postgres' },
    );
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
   * The bot's echoes of these effects arrived: ClickDesk has the messages. A row still waiting on
   * the outcome of a send that left (its attempt recorded) is done; a row never sent is left alone.
   * SQLite; PostgreSQL settles them in the completion's statement.
   */
  async settleByEcho(
    tx: SqlRunner,
    echoes: ReadonlyArray<{ teamId: string; effectId: string }>,
  ): Promise<void> {
    for (const { teamId, effectId } of echoes)
      await tx.run(
        "DELETE FROM outbox WHERE effect_id = ? AND team_id = ? AND state = 'pending' AND attempted_at IS NOT NULL",
        [effectId, teamId],
      );
  }

  async markAttempt(effectId: string): Promise<boolean> {
    if (this.attempts) return this.attempts.add(effectId);
    const changed = await writeStatement(
      this.ctx.db,
      'delivery',
      "UPDATE outbox SET attempted_at = ? WHERE effect_id = ? AND lease_owner = ? AND state = 'pending'",
      [this.ctx.now(), effectId, this.lease.instanceId],
    );
    return changed === 1;
  }

  async markDone(effectId: string, _outcome: DoneOutcome): Promise<void> {
    // A lost lease leaves the row to its new holder, which finds the message in the history.
    if (this.dones) {
      await this.dones.add(effectId);
      return;
    }
    await writeStatement(
      this.ctx.db,
      'delivery',
      'DELETE FROM outbox WHERE effect_id = ? AND lease_owner = ?',
      [effectId, this.lease.instanceId],
    );
  }

  async awaitEcho(effectId: string, at: number): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'delivery',
      'UPDATE outbox SET next_at = ?, lease_owner = NULL, lease_until = NULL WHERE effect_id = ? AND lease_owner = ?',
      [at, effectId, this.lease.instanceId],
    );
  }

  async retryLater(effectId: string, at: number, error: string, delivered: 'no' | 'unknown'): Promise<void> {
    const clearAttempt = delivered === 'no' ? ', attempted_at = NULL' : '';
    await writeStatement(
      this.ctx.db,
      'delivery',
      `UPDATE outbox SET tries = tries + 1, next_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL${clearAttempt} WHERE effect_id = ? AND lease_owner = ?`,
      [at, error.slice(0, 200), effectId, this.lease.instanceId],
    );
  }

  async deadLetter(effectId: string, reason: string): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'delivery',
      "UPDATE outbox SET state = 'dead', dead_at = ?, dead_reason = ?, lease_owner = NULL, lease_until = NULL WHERE effect_id = ? AND lease_owner = ?",
      [this.ctx.now(), reason.slice(0, 200), effectId, this.lease.instanceId],
    );
  }

  reclaimOwnLeases(): void {
    this.reclaimOwn = true;
  }

  async releaseLeases(): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'delivery',
      "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND state = 'pending'",
      [this.lease.instanceId],
    );
  }

  async renewLeases(): Promise<void> {
    await writeStatement(
      this.ctx.db,
      'delivery',
      "UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND state = 'pending'",
      [this.ctx.now() + this.lease.leaseMs, this.lease.instanceId],
    );
  }
}
