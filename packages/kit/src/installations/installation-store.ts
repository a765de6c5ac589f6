import type { Installation, InstallationSummary, RotatedTokens } from './installation';

/**
 * Where installations live: the app's own database (SQLite, PostgreSQL) or memory. Tokens are
 * Data of the team: SQL stores seal them under the team's data key, so erasing the team
 * (`app.uninstalled`, termination) shreds them with the rest.
 *
 * Token rotation is single-flight per team across instances through a lease kept in the store:
 * an instance claims it before presenting the refresh token, commits the new pair while it still
 * holds it, and a lease left by a crashed instance lapses after `leaseMs`, well within ClickDesk's
 * 60 s reuse interval, so the next holder re-presents the same refresh token and gets the same pair.
 */
export interface InstallationStore {
  get(teamId: string): Promise<Installation | undefined>;
  /** Install or reinstall: replaces the team's installation and drops any refresh lease. */
  save(installation: Installation): Promise<void>;
  delete(teamId: string): Promise<boolean>;
  list(): Promise<InstallationSummary[]>;
  /** Takes the team's refresh lease if nobody holds it or the holder's lease lapsed. */
  claimRefresh(teamId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Stores the new pair and ends the lease, only if `owner` still holds it. */
  commitRefresh(teamId: string, owner: string, tokens: RotatedTokens): Promise<boolean>;
  releaseRefresh(teamId: string, owner: string): Promise<void>;
}
