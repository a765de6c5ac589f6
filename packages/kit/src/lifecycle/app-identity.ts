import { isAddressableTeamId } from '../core/team-id';
import { CodedError } from '../errors';
import type { SqlDatabase } from '../storage/sql/sql-database';
import type { LifecycleEvent } from './lifecycle-event';

/** Why a verified lifecycle webhook changes nothing here (a bounded metric label). */
export type IgnoredReason = 'other_app' | 'unknown_team';

export interface Me {
  appId: string;
  teamId: string;
}

export interface AppIdentityOptions {
  /** CLICKDESK_APP_ID, when configured: believed without asking, and checked against auth.test. */
  configuredAppId?: string;
  /** auth.test with the bot token: this app, and the team the token was installed in. */
  whoAmI: () => Promise<Me>;
  /** Whether storage holds anything of a team (a team whose events the app has received). */
  holdsTeam: (teamId: string) => Promise<boolean>;
}

/**
 * Which app this is and which teams it holds, so that a lifecycle webhook is obeyed only by its
 * addressee (docs/clickdesk-contract.md §4): `api_access.terminated` names an app, the team events a
 * team that installed it. A team is held if it is the bot token's own team (auth.test) or if the
 * app stores anything of it. auth.test is asked once; a failed look-up is asked again next time.
 */
export class AppIdentity {
  private me: Promise<Me> | undefined;

  constructor(private readonly opts: AppIdentityOptions) {}

  /** Asks auth.test (once); rejects with CONFIG_INVALID if CLICKDESK_APP_ID says otherwise. */
  resolve(): Promise<Me> {
    if (!this.me) {
      const asking = this.opts.whoAmI().then((me) => {
        const configured = this.opts.configuredAppId;
        if (configured !== undefined && configured !== me.appId) {
          throw new CodedError(
            'CONFIG_INVALID',
            `CLICKDESK_APP_ID is "${configured}" but ClickDesk (auth.test) says this app is "${me.appId}": fix CLICKDESK_APP_ID`,
          );
        }
        return me;
      });
      this.me = asking;
      asking.catch(() => {
        if (this.me === asking) this.me = undefined;
      });
    }
    return this.me;
  }

  async check(
    event: LifecycleEvent,
  ): Promise<{ addressed: true } | { addressed: false; reason: IgnoredReason }> {
    if (event.type === 'api_access.terminated') {
      const appId = this.opts.configuredAppId ?? (await this.resolve()).appId;
      return event.app_id === appId ? { addressed: true } : { addressed: false, reason: 'other_app' };
    }
    if (await this.opts.holdsTeam(event.team_id)) return { addressed: true };
    const { teamId } = await this.resolve();
    return event.team_id === teamId ? { addressed: true } : { addressed: false, reason: 'unknown_team' };
  }
}

/** Whether the database holds any key, event or tombstone of the team. */
export function storageHoldsTeam(db: SqlDatabase): (teamId: string) => Promise<boolean> {
  return async (teamId) => {
    // `*` and other reserved ids hold the app's own rows (the index key), never a team's.
    if (!isAddressableTeamId(teamId)) return false;
    const rows = await db.all<{ held: number }>(
      `SELECT 1 AS held FROM data_keys WHERE team_id = ?
       UNION ALL SELECT 1 FROM inbox WHERE team_id = ?
       UNION ALL SELECT 1 FROM tombstones WHERE team_id = ?
       LIMIT 1`,
      [teamId, teamId, teamId],
    );
    return rows.length > 0;
  };
}
