import type { ProfileStore, Subject } from '../../core/conversation-store';
import type { StorageContext } from './storage-context';
import { writeStatement } from './sql-database';

/** Cached profiles: every field encrypted, as one sealed JSON object, under the subject's key. */
export class SqlProfileStore implements ProfileStore {
  constructor(private readonly ctx: StorageContext) {}

  async put(teamId: string, subject: Subject, fields: Readonly<Record<string, string>>): Promise<void> {
    const ref = this.ctx.subjectRef(teamId, subject);
    if (await this.ctx.tombstones.isErased(teamId, ref)) return;
    const key = await this.ctx.keyOf(teamId, ref);
    const body = this.ctx.seal(
      { table: 'profiles', teamId, recordId: ref, field: 'body' },
      { id: subject.id, ...fields },
      key,
    );
    await writeStatement(
      this.ctx.db,
      'default',
      `INSERT INTO profiles (team_id, subject_ref, kind, body, confirmed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (team_id, subject_ref) DO UPDATE SET body = excluded.body, confirmed_at = excluded.confirmed_at`,
      [teamId, ref, subject.kind, body, this.ctx.now()],
    );
  }

  async get(teamId: string, subject: Subject): Promise<Record<string, string> | undefined> {
    const ref = this.ctx.subjectRef(teamId, subject);
    const [row] = await this.ctx.db.all<{ body: Buffer }>(
      'SELECT body FROM profiles WHERE team_id = ? AND subject_ref = ? AND confirmed_at >= ?',
      [teamId, ref, this.ctx.freshSince()],
    );
    if (!row) return undefined;
    const body = await this.ctx.open<Record<string, string>>(
      { table: 'profiles', teamId, recordId: ref, field: 'body' },
      row.body,
      { subjectRef: ref },
    );
    if (!body) return undefined;
    const { id: _id, ...fields } = body;
    return fields;
  }

  /** The team's own profile (team.info), under the team's key. */
  async putTeam(teamId: string, fields: Readonly<Record<string, string>>): Promise<void> {
    if (await this.ctx.tombstones.isErased(teamId, undefined)) return;
    const key = await this.ctx.keyOf(teamId, undefined);
    const body = this.ctx.seal({ table: 'profiles', teamId, recordId: TEAM_REF, field: 'body' }, fields, key);
    await writeStatement(
      this.ctx.db,
      'default',
      `INSERT INTO profiles (team_id, subject_ref, kind, body, confirmed_at) VALUES (?, ?, 'team', ?, ?)
         ON CONFLICT (team_id, subject_ref) DO UPDATE SET body = excluded.body, confirmed_at = excluded.confirmed_at`,
      [teamId, TEAM_REF, body, this.ctx.now()],
    );
  }

  async getTeam(teamId: string): Promise<Record<string, string> | undefined> {
    const [row] = await this.ctx.db.all<{ body: Buffer }>(
      'SELECT body FROM profiles WHERE team_id = ? AND subject_ref = ? AND confirmed_at >= ?',
      [teamId, TEAM_REF, this.ctx.freshSince()],
    );
    return row
      ? this.ctx.open<Record<string, string>>(
          { table: 'profiles', teamId, recordId: TEAM_REF, field: 'body' },
          row.body,
          { subjectRef: '' },
        )
      : undefined;
  }
}

/** Blind refs are base64url; this cannot collide with one. */
const TEAM_REF = '#team';
