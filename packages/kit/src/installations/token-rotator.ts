import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CodedError, describeError } from '../errors';
import type { TokenGrant } from './clickdesk-oauth-client';
import { OAuthGrantError } from './clickdesk-oauth-client';
import type { Installation } from './installation';
import type { InstallationStore } from './installation-store';

export type RefreshOutcome = 'ok' | 'invalid_grant' | 'error';

export interface TokenRotatorOptions {
  store: InstallationStore;
  oauth: { refresh(refreshToken: string): Promise<TokenGrant> };
  logger: Logger;
  now?: () => number;
  /** Refresh this long before expiry at most (and at half the token's lifetime at least). */
  refreshAheadMs?: number;
  /** How long a refresh lease lasts; must stay well under ClickDesk's 60 s reuse interval. */
  leaseMs?: number;
  /** How often every installation is checked for a refresh due (idle teams included). */
  sweepMs?: number;
  /**
   * A team without an installation is remembered this long before the store is asked again.
   * Default 0: every event of such a team asks the store (one primary-key read), so a team that
   * has just installed through another instance is never dropped for want of a fresh look.
   */
  negativeCacheMs?: number;
  onRefresh?: (outcome: RefreshOutcome) => void;
  /** ClickDesk revoked the installation (late refresh-token reuse, uninstall): it was deleted. */
  onRevoked?: (teamId: string) => void;
  /** Tests: runs after ClickDesk answered a refresh and before the new pair is committed. */
  afterGrant?: (teamId: string) => Promise<void>;
}

/**
 * The bot token of each team, kept valid (docs/installations.md). A token is refreshed
 * ahead of its expiry, by a sweep and on use, and again when ClickDesk answers `token_expired`.
 * One refresh per team at a time across instances: the store's lease decides who presents the
 * refresh token; the new pair is committed before anyone uses it; the others re-read it.
 */
export class TokenRotator {
  readonly owner = randomUUID();
  private readonly cache = new Map<string, Installation>();
  private readonly missing = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<Installation | undefined>>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly opts: TokenRotatorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Checks every installation now and then every `sweepMs`. */
  start(): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), this.opts.sweepMs ?? 5_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Whether the app holds an installation for the team (events of other teams are dropped). */
  async has(teamId: string): Promise<boolean> {
    if (this.cache.has(teamId)) return true;
    const since = this.missing.get(teamId);
    if (since !== undefined && this.now() - since < (this.opts.negativeCacheMs ?? 0)) return false;
    return (await this.load(teamId)) !== undefined;
  }

  /** A valid access token for the team, refreshed first if it is due. */
  async tokenFor(teamId: string): Promise<string> {
    let inst = this.cache.get(teamId) ?? (await this.load(teamId));
    if (inst && this.due(inst)) inst = await this.refresh(teamId);
    if (!inst) throw this.missingError(teamId);
    return inst.accessToken;
  }

  /** ClickDesk answered `token_expired` for `expired`: a fresh token (refreshed unless someone already did). */
  async renew(teamId: string, expired: string): Promise<string> {
    const inst = await this.refresh(teamId, expired);
    if (!inst) throw this.missingError(teamId);
    return inst.accessToken;
  }

  /** The installation is gone (uninstalled, erased, revoked): stop using it at once. */
  forget(teamId: string): void {
    this.cache.delete(teamId);
    this.missing.set(teamId, this.now());
  }

  /** A new or replaced installation: use it from now on. */
  installed(inst: Installation): void {
    this.cache.set(inst.teamId, inst);
    this.missing.delete(inst.teamId);
  }

  /** Refreshes every installation that is due, or whose refresh a crashed instance left unfinished. */
  async sweep(): Promise<void> {
    const all = await this.opts.store.list();
    // An abandoned refresh is finished now, while ClickDesk still returns the same pair for it.
    const due = all.filter((s) => s.abandoned || (s.expiresAt !== undefined && this.due(s)));
    // A few at a time: refreshes share the per-app oauth.v2.access budget with installs.
    for (let i = 0; i < due.length; i += 4) {
      await Promise.allSettled(
        due.slice(i, i + 4).map((s) => this.refresh(s.teamId, undefined, s.abandoned)),
      );
    }
  }

  private kick(): void {
    if (this.sweeping) return;
    this.sweeping = this.sweep()
      .catch((err: unknown) => this.opts.logger.error({ err: describeError(err) }, 'token sweep failed'))
      .finally(() => (this.sweeping = undefined));
  }

  private due(inst: Pick<Installation, 'expiresAt' | 'updatedAt'>): boolean {
    if (inst.expiresAt === undefined) return false;
    const lifetime = Math.max(0, inst.expiresAt - inst.updatedAt);
    const ahead = Math.min(this.opts.refreshAheadMs ?? 10 * 60_000, lifetime / 2);
    return this.now() >= inst.expiresAt - ahead;
  }

  private async load(teamId: string): Promise<Installation | undefined> {
    const inst = await this.opts.store.get(teamId);
    if (inst) this.installed(inst);
    else this.forget(teamId);
    return inst;
  }

  /** One refresh per team in this process; across processes, the store's lease. */
  private refresh(teamId: string, expired?: string, resume = false): Promise<Installation | undefined> {
    let pending = this.inflight.get(teamId);
    if (!pending) {
      pending = this.refreshLeased(teamId, expired, resume).finally(() => this.inflight.delete(teamId));
      this.inflight.set(teamId, pending);
    }
    return pending;
  }

  private async refreshLeased(
    teamId: string,
    expired: string | undefined,
    resume: boolean,
  ): Promise<Installation | undefined> {
    const { store, logger } = this.opts;
    const leaseMs = this.opts.leaseMs ?? 15_000;
    const deadline = this.now() + 2 * leaseMs + 5_000;
    for (;;) {
      const current = await this.load(teamId);
      if (!current) return undefined;
      const stale = resume || current.accessToken === expired || this.due(current);
      if (!stale || current.refreshToken === undefined) return current;
      if (await store.claimRefresh(teamId, this.owner, leaseMs)) {
        // Read again under the lease: another instance may have committed a new pair between
        // our read and our claim, and its refresh token is the only one to present.
        const held = await this.load(teamId);
        const fresh = held !== undefined && held.accessToken !== current.accessToken;
        if (!held || fresh || held.refreshToken === undefined) {
          await store.releaseRefresh(teamId, this.owner);
          if (!held || held.refreshToken === undefined) return held;
          resume = false; // someone finished it
          continue;
        }
        let grant: TokenGrant;
        try {
          grant = await this.opts.oauth.refresh(held.refreshToken);
        } catch (err) {
          if (err instanceof OAuthGrantError && err.apiError === 'invalid_grant') {
            // ClickDesk revoked the installation (a refresh token was reused late: theft, §4).
            await store.delete(teamId);
            this.forget(teamId);
            this.opts.onRefresh?.('invalid_grant');
            logger.error(
              { teamId },
              'ClickDesk revoked this installation (invalid_grant): the team is no longer served until it installs the app again',
            );
            this.opts.onRevoked?.(teamId);
            return undefined;
          }
          await store.releaseRefresh(teamId, this.owner);
          this.opts.onRefresh?.('error');
          throw err;
        }
        await this.opts.afterGrant?.(teamId);
        const tokens = {
          accessToken: grant.accessToken,
          refreshToken: grant.refreshToken,
          expiresAt: grant.expiresAt,
          updatedAt: grant.updatedAt,
        };
        // Committed before use: a crash from here on leaves the old refresh token in the store,
        // which the next holder re-presents within the reuse interval for this same pair.
        resume = false;
        if (await store.commitRefresh(teamId, this.owner, tokens)) {
          this.opts.onRefresh?.('ok');
          const next = { ...held, ...tokens };
          this.installed(next);
          logger.info({ teamId }, 'bot token refreshed');
          return next;
        }
        // Lost the lease (reinstalled, or held past it): read what the store has now.
        continue;
      }
      if (this.now() > deadline) {
        throw new CodedError(
          'CLICKDESK_AUTH_FAILED',
          `refreshing the bot token of team ${teamId} did not finish in time`,
        );
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    }
  }

  private missingError(teamId: string): CodedError {
    return new CodedError(
      'INSTALLATION_MISSING',
      `team ${teamId} has not installed the app (or uninstalled it): no bot token to call ClickDesk with`,
    );
  }
}
