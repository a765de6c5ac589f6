import type { Installation, InstallationSummary, RotatedTokens } from '../../installations/installation';
import type { InstallationStore } from '../../installations/installation-store';

/** Installations in this process only (STORAGE=memory, tests): nothing survives a restart. */
export class MemoryInstallationStore implements InstallationStore {
  private readonly rows = new Map<string, { inst: Installation; owner?: string; until?: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(teamId: string): Promise<Installation | undefined> {
    return Promise.resolve(this.rows.get(teamId)?.inst);
  }

  save(installation: Installation): Promise<void> {
    this.rows.set(installation.teamId, { inst: installation });
    return Promise.resolve();
  }

  delete(teamId: string): Promise<boolean> {
    return Promise.resolve(this.rows.delete(teamId));
  }

  list(): Promise<InstallationSummary[]> {
    return Promise.resolve(
      [...this.rows.values()].map(({ inst, until, owner }) => ({
        teamId: inst.teamId,
        installedAt: inst.installedAt,
        updatedAt: inst.updatedAt,
        expiresAt: inst.expiresAt,
        refreshing: until !== undefined && until > this.now(),
        abandoned: owner !== undefined && until !== undefined && until <= this.now(),
      })),
    );
  }

  claimRefresh(teamId: string, owner: string, leaseMs: number): Promise<boolean> {
    const row = this.rows.get(teamId);
    if (!row || (row.until !== undefined && row.until > this.now() && row.owner !== owner))
      return Promise.resolve(false);
    row.owner = owner;
    row.until = this.now() + leaseMs;
    return Promise.resolve(true);
  }

  commitRefresh(teamId: string, owner: string, tokens: RotatedTokens): Promise<boolean> {
    const row = this.rows.get(teamId);
    if (!row || row.owner !== owner) return Promise.resolve(false);
    this.rows.set(teamId, { inst: { ...row.inst, ...tokens } });
    return Promise.resolve(true);
  }

  releaseRefresh(teamId: string, owner: string): Promise<void> {
    const row = this.rows.get(teamId);
    if (row?.owner === owner) this.rows.set(teamId, { inst: row.inst });
    return Promise.resolve();
  }
}
