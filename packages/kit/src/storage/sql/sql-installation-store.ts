import { WHOLE_TEAM } from './tombstones';
import type { Installation, InstallationSummary, RotatedTokens } from '../../installations/installation';
import type { InstallationStore } from '../../installations/installation-store';
import type { StorageContext } from './storage-context';

/** The sealed part of a row: everything ClickDesk told us about the installation, tokens included. */
type Sealed = Omit<Installation, 'teamId' | 'expiresAt' | 'installedAt' | 'updatedAt'>;

interface Row {
  team_id: string;
  body: Buffer;
  expires_at: number | string | null;
  installed_at: number | string;
  updated_at: number | string;
  refresh_owner: string | null;
  refresh_until: number | string | null;
}

/**
 * Installations in the app's database. The tokens (and the rest of what ClickDesk said) are one
 * sealed JSON body under the team's data key (Terms 6.2, 8), bound to this table and team: a
 * team erasure shreds them with everything else. Expiry and the refresh lease stay in clear so
 * that rotation and the expiry metric need no decryption.
 */
export class SqlInstallationStore implements InstallationStore {
  constructor(private readonly ctx: StorageContext) {}

  async get(teamId: string): Promise<Installation | undefined> {
    const [row] = await this.ctx.db.all<Row>('SELECT * FROM installations WHERE team_id = ?', [teamId]);
    if (!row) return undefined;
    const body = await this.ctx.open<Sealed>(this.field(teamId), row.body, { subjectRef: '' });
    // Its key was destroyed (the team was erased): the installation is gone with it.
    if (!body) return undefined;
    return {
      ...body,
      teamId,
      expiresAt: row.expires_at === null ? undefined : Number(row.expires_at),
      installedAt: Number(row.installed_at),
      updatedAt: Number(row.updated_at),
    };
  }

  async save(inst: Installation): Promise<void> {
    const body = await this.seal(inst);
    // A new installation is a new consent: a team that uninstalled before (and was erased) has its
    // events stored again from now on, committed with the installation itself. What was erased
    // stays erased (its keys are gone); instances confirm a team tombstone before dropping events.
    await this.ctx.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO installations (team_id, body, expires_at, installed_at, updated_at, refresh_owner, refresh_until)
         VALUES (?, ?, ?, ?, ?, NULL, NULL)
         ON CONFLICT (team_id) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at,
           installed_at = excluded.installed_at, updated_at = excluded.updated_at,
           refresh_owner = NULL, refresh_until = NULL`,
        [inst.teamId, body, inst.expiresAt ?? null, inst.installedAt, inst.updatedAt],
      );
      await tx.run('DELETE FROM tombstones WHERE team_id = ? AND subject_ref = ?', [inst.teamId, WHOLE_TEAM]);
    });
  }

  async delete(teamId: string): Promise<boolean> {
    return (
      (await this.ctx.db.transaction((tx) =>
        tx.run('DELETE FROM installations WHERE team_id = ?', [teamId]),
      )) > 0
    );
  }

  async list(): Promise<InstallationSummary[]> {
    const rows = await this.ctx.db.all<Row>(
      'SELECT team_id, expires_at, installed_at, updated_at, refresh_owner, refresh_until FROM installations ORDER BY team_id',
    );
    const now = this.ctx.now();
    return rows.map((r) => ({
      teamId: r.team_id,
      installedAt: Number(r.installed_at),
      updatedAt: Number(r.updated_at),
      expiresAt: r.expires_at === null ? undefined : Number(r.expires_at),
      refreshing: r.refresh_until !== null && Number(r.refresh_until) > now,
      abandoned: r.refresh_owner !== null && r.refresh_until !== null && Number(r.refresh_until) <= now,
    }));
  }

  async claimRefresh(teamId: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.ctx.now();
    // Compare-and-set in one statement: of instances racing for the lease, exactly one wins.
    const changed = await this.ctx.db.transaction((tx) =>
      tx.run(
        `UPDATE installations SET refresh_owner = ?, refresh_until = ?
         WHERE team_id = ? AND (refresh_until IS NULL OR refresh_until <= ? OR refresh_owner = ?)`,
        [owner, now + leaseMs, teamId, now, owner],
      ),
    );
    return changed > 0;
  }

  async commitRefresh(teamId: string, owner: string, tokens: RotatedTokens): Promise<boolean> {
    const current = await this.get(teamId);
    if (!current) return false;
    const body = await this.seal({ ...current, ...tokens });
    // Only the lease holder writes; a reinstall meanwhile cleared the lease and wins.
    const changed = await this.ctx.db.transaction((tx) =>
      tx.run(
        `UPDATE installations SET body = ?, expires_at = ?, updated_at = ?, refresh_owner = NULL, refresh_until = NULL
         WHERE team_id = ? AND refresh_owner = ?`,
        [body, tokens.expiresAt ?? null, tokens.updatedAt, teamId, owner],
      ),
    );
    return changed > 0;
  }

  async releaseRefresh(teamId: string, owner: string): Promise<void> {
    await this.ctx.db.transaction((tx) =>
      tx.run(
        'UPDATE installations SET refresh_owner = NULL, refresh_until = NULL WHERE team_id = ? AND refresh_owner = ?',
        [teamId, owner],
      ),
    );
  }

  private async seal(inst: Installation): Promise<Buffer> {
    const { teamId, expiresAt: _e, installedAt: _i, updatedAt: _u, ...sealed } = inst;
    const key = await this.ctx.keyOf(teamId, undefined);
    return this.ctx.seal(this.field(teamId), sealed satisfies Sealed, key);
  }

  private field(teamId: string) {
    return { table: 'installations', teamId, recordId: teamId, field: 'body' };
  }
}
