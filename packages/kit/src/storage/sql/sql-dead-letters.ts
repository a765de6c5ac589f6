import type { DeadLetter, DeadLetterCounts, DeadLetterStore } from '../../core/dead-letters';
import type { StorageContext } from './storage-context';

/**
 * Dead letters are inbox and outbox rows kept in place with a reason: their payload stays
 * encrypted under its subject's key and is erased with the subject like any other row.
 */
export class SqlDeadLetters implements DeadLetterStore {
  constructor(private readonly ctx: StorageContext) {}

  async list(limit: number): Promise<DeadLetter[]> {
    const rows = await this.ctx.db.all<{
      kind: DeadLetter['kind'];
      id: string;
      team_id: string;
      reason: string | null;
      at: number;
    }>(
      `SELECT kind, id, team_id, reason, at FROM (
         SELECT 'event' AS kind, event_id AS id, team_id, dead_reason AS reason, dead_at AS at FROM inbox WHERE dead_at IS NOT NULL
         UNION ALL
         SELECT 'effect' AS kind, effect_id AS id, team_id, dead_reason AS reason, dead_at AS at FROM outbox WHERE state = 'dead'
       ) d ORDER BY at, id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({
      kind: r.kind,
      id: r.id,
      teamId: r.team_id,
      reason: r.reason ?? '',
      at: Number(r.at),
    }));
  }

  async count(): Promise<DeadLetterCounts> {
    const [events] = await this.ctx.db.all<{ n: number }>(
      'SELECT COUNT(*) AS n FROM inbox WHERE dead_at IS NOT NULL',
    );
    const [effects] = await this.ctx.db.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM outbox WHERE state = 'dead'",
    );
    return { event: Number(events?.n ?? 0), effect: Number(effects?.n ?? 0) };
  }

  async retry(kind: DeadLetter['kind'], id: string): Promise<boolean> {
    const changed =
      kind === 'event'
        ? // Unleased: the next replay sweep of any instance handles it again, from its first attempt.
          await this.ctx.db.write((tx) =>
            tx.run(
              'UPDATE inbox SET dead_at = NULL, dead_reason = NULL, failures = 0, lease_owner = NULL, lease_until = NULL WHERE event_id = ? AND dead_at IS NOT NULL',
              [id],
            ),
          )
        : await this.ctx.db.write((tx) =>
            tx.run(
              "UPDATE outbox SET state = 'pending', dead_at = NULL, dead_reason = NULL, tries = 0, next_at = ? WHERE effect_id = ? AND state = 'dead'",
              [this.ctx.now(), id],
            ),
          );
    return changed === 1;
  }

  async drop(kind: DeadLetter['kind'], id: string): Promise<boolean> {
    const changed =
      kind === 'event'
        ? // The id stays (as for any handled event) so a late redelivery is still a duplicate.
          await this.ctx.db.write((tx) =>
            tx.run(
              'UPDATE inbox SET handled_at = ?, payload = NULL, dead_at = NULL, dead_reason = NULL WHERE event_id = ? AND dead_at IS NOT NULL',
              [this.ctx.now(), id],
            ),
          )
        : await this.ctx.db.write((tx) =>
            tx.run("DELETE FROM outbox WHERE effect_id = ? AND state = 'dead'", [id]),
          );
    return changed === 1;
  }
}
