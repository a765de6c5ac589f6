import type { SqlDatabase, SqlRunner } from './sql-database';

/** Marks a whole team in the tombstones table. */
export const WHOLE_TEAM = '*';

/**
 * Who was erased, so a late event or a refresh cannot bring their Data back (Terms 6.3).
 * Held as blind refs; checked in memory on every write, reloaded from the database every
 * 30 s so an erasure by another instance is seen.
 */
export class Tombstones {
  private erased = new Set<string>();
  private loadedAt = 0;

  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    const rows = await this.db.all<{ team_id: string; subject_ref: string }>(
      'SELECT team_id, subject_ref FROM tombstones',
    );
    this.erased = new Set(rows.map((r) => `${r.team_id}|${r.subject_ref}`));
    this.loadedAt = this.now();
  }

  /** True when the team, or this subject of it, was erased. */
  async isErased(teamId: string, subjectRef: string | undefined): Promise<boolean> {
    if (this.now() - this.loadedAt > 30_000) await this.load();
    if (this.erased.has(`${teamId}|${WHOLE_TEAM}`) && (await this.teamStillErased(teamId))) return true;
    return subjectRef !== undefined && subjectRef !== '' && this.erased.has(`${teamId}|${subjectRef}`);
  }

  /**
   * A whole-team tombstone is confirmed before an event is dropped for it: the team may have
   * installed again through another instance (which lifted it) since this one last loaded.
   * Events of an erased team are rare (ClickDesk stops sending them), so this read is too.
   */
  private async teamStillErased(teamId: string): Promise<boolean> {
    const rows = await this.db.all('SELECT 1 FROM tombstones WHERE team_id = ? AND subject_ref = ?', [
      teamId,
      WHOLE_TEAM,
    ]);
    if (rows.length === 0) this.erased.delete(`${teamId}|${WHOLE_TEAM}`);
    return rows.length > 0;
  }

  /**
   * The team installed the app again: its new Data may be kept. What was erased stays erased
   * (its keys were destroyed); people erased one by one keep their own tombstones.
   */
  async liftTeam(teamId: string): Promise<void> {
    await this.db.run('DELETE FROM tombstones WHERE team_id = ? AND subject_ref = ?', [teamId, WHOLE_TEAM]);
    this.erased.delete(`${teamId}|${WHOLE_TEAM}`);
  }

  async add(tx: SqlRunner, teamId: string, subjectRef: string): Promise<void> {
    await tx.run(
      'INSERT INTO tombstones (team_id, subject_ref, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [teamId, subjectRef, this.now()],
    );
    this.erased.add(`${teamId}|${subjectRef}`);
  }
}
