import { randomBytes } from 'node:crypto';

/** The app's registration with ClickDesk and the §4 timings, adjustable for tests. */
export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  /** Redirect URLs registered for the app; `redirect_uri` must equal one exactly. */
  redirectUris: string[];
  codeTtlMs: number;
  accessTokenTtlMs: number;
  /** A used refresh token presented again within this returns the same pair; later revokes. */
  refreshReuseMs: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

interface Code {
  teamId: string;
  installerId: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

interface SimInstallation {
  teamId: string;
  installerId: string;
  revoked: boolean;
  /** Access token → expiry (ms). Replaced tokens stay here until their own expiry. */
  access: Map<string, number>;
  /** The refresh token that works now. */
  refresh: string;
  /** Refresh tokens already used: when, and the pair they returned. */
  used: Map<string, { at: number; pair: TokenPair }>;
}

export type AccessCheck =
  | { status: 'ok'; teamId: string }
  | { status: 'expired' | 'revoked'; teamId: string }
  | { status: 'unknown' };

export type Grant =
  { ok: true; teamId: string; installerId: string; pair: TokenPair } | { ok: false; error: string };

export const SCOPES = 'chat:write conversations:read conversations:write visitors:read agents:read team:read';

/**
 * ClickDesk's side of installation (docs/installations.md): single-use codes bound to the
 * client and redirect URL, expiring access tokens, single-use refresh tokens with a reuse
 * interval, and revocation (theft detection, `auth.revoke`, reinstall).
 */
export class OAuthAuthority {
  private readonly codes = new Map<string, Code>();
  private readonly installations = new Map<string, SimInstallation>();
  private readonly byAccess = new Map<string, string>();
  private readonly byRefresh = new Map<string, string>();
  /** Refresh grants answered, by outcome (tests compare them with the app's count). */
  readonly grants = { issued: 0, replayed: 0, invalid_grant: 0, codes: 0 };

  constructor(
    readonly options: OAuthOptions,
    private readonly now: () => number = Date.now,
  ) {}

  clientMatches(clientId: unknown, secret: unknown): boolean {
    return clientId === this.options.clientId && secret === this.options.clientSecret;
  }

  redirectRegistered(uri: string): boolean {
    return this.options.redirectUris.includes(uri);
  }

  /** Allow on the consent page: a code for this team, client and redirect URL. */
  issueCode(teamId: string, redirectUri: string, installerId = 'U0INSTALLER'): string {
    const code = `${teamId}.${randomBytes(12).toString('hex')}`;
    this.codes.set(code, {
      teamId,
      installerId,
      clientId: this.options.clientId,
      redirectUri,
      expiresAt: this.now() + this.options.codeTtlMs,
      used: false,
    });
    return code;
  }

  exchangeCode(code: string, redirectUri: string): Grant {
    const c = this.codes.get(code);
    if (!c || c.expiresAt <= this.now()) return { ok: false, error: 'invalid_code' };
    if (c.used) return { ok: false, error: 'code_already_used' };
    if (c.redirectUri !== redirectUri) return { ok: false, error: 'bad_redirect_uri' };
    c.used = true;
    this.grants.codes += 1;
    // Installing again replaces the team's tokens; the old ones are revoked.
    const previous = this.installations.get(c.teamId);
    if (previous) this.drop(previous);
    const inst: SimInstallation = {
      teamId: c.teamId,
      installerId: c.installerId,
      revoked: false,
      access: new Map(),
      refresh: '',
      used: new Map(),
    };
    this.installations.set(c.teamId, inst);
    return { ok: true, teamId: c.teamId, installerId: c.installerId, pair: this.mint(inst) };
  }

  refresh(refreshToken: string): Grant {
    const teamId = this.byRefresh.get(refreshToken);
    const inst = teamId === undefined ? undefined : this.installations.get(teamId);
    if (!inst || inst.revoked) return { ok: false, error: 'invalid_grant' };
    const used = inst.used.get(refreshToken);
    if (used) {
      if (this.now() - used.at <= this.options.refreshReuseMs) {
        this.grants.replayed += 1;
        return { ok: true, teamId: inst.teamId, installerId: inst.installerId, pair: used.pair };
      }
      // Late reuse is taken as theft: the whole installation goes.
      this.grants.invalid_grant += 1;
      this.revoke(inst.teamId);
      return { ok: false, error: 'invalid_grant' };
    }
    if (inst.refresh !== refreshToken) return { ok: false, error: 'invalid_grant' };
    const pair = this.mint(inst);
    inst.used.set(refreshToken, { at: this.now(), pair });
    this.grants.issued += 1;
    return { ok: true, teamId: inst.teamId, installerId: inst.installerId, pair };
  }

  checkAccess(token: string): AccessCheck {
    const teamId = this.byAccess.get(token);
    const inst = teamId === undefined ? undefined : this.installations.get(teamId);
    if (teamId === undefined || !inst) return { status: 'unknown' };
    if (inst.revoked || !inst.access.has(token)) return { status: 'revoked', teamId };
    return (inst.access.get(token) ?? 0) <= this.now()
      ? { status: 'expired', teamId }
      : { status: 'ok', teamId };
  }

  /** Uninstall: both tokens stop working. Returns whether the team had an installation. */
  revoke(teamId: string): boolean {
    const inst = this.installations.get(teamId);
    if (!inst || inst.revoked) return false;
    inst.revoked = true;
    return true;
  }

  isInstalled(teamId: string): boolean {
    const inst = this.installations.get(teamId);
    return inst !== undefined && !inst.revoked;
  }

  /** Fault control: every live access token expires now. */
  expireAll(): number {
    let n = 0;
    const now = this.now();
    for (const inst of this.installations.values()) {
      for (const token of inst.access.keys()) {
        inst.access.set(token, now);
        n += 1;
      }
    }
    return n;
  }

  private mint(inst: SimInstallation): TokenPair {
    const access = `xoxe.xoxb-${inst.teamId}-${randomBytes(16).toString('hex')}`;
    const refresh = `xoxe-1-${randomBytes(20).toString('hex')}`;
    inst.access.set(access, this.now() + this.options.accessTokenTtlMs);
    inst.refresh = refresh;
    this.byAccess.set(access, inst.teamId);
    this.byRefresh.set(refresh, inst.teamId);
    this.sweep(inst);
    return {
      access_token: access,
      refresh_token: refresh,
      expires_in: Math.round(this.options.accessTokenTtlMs / 1000),
    };
  }

  private drop(inst: SimInstallation): void {
    // Its tokens still map to the team, whose new installation does not know them: token_revoked.
    inst.revoked = true;
    this.installations.delete(inst.teamId);
  }

  /** Forgets expired access tokens and refresh tokens past their reuse interval (memory stays bounded). */
  private sweep(inst: SimInstallation): void {
    const now = this.now();
    for (const [t, exp] of inst.access) {
      if (exp < now - 60_000) {
        inst.access.delete(t);
        this.byAccess.delete(t);
      }
    }
    for (const [t, u] of inst.used) {
      // Kept well past the reuse interval so that late reuse is still recognised as theft.
      if (now - u.at > Math.max(10 * this.options.refreshReuseMs, 3_600_000)) {
        inst.used.delete(t);
        this.byRefresh.delete(t);
      }
    }
  }
}
