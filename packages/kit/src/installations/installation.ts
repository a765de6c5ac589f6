/** One team's installation of the app (docs/installations.md): who, what scope, which tokens. */
export interface Installation {
  readonly teamId: string;
  readonly teamName: string;
  readonly appId: string;
  readonly botUserId: string;
  readonly installerId: string;
  readonly scope: string;
  readonly accessToken: string;
  /** Absent for a token that does not rotate. */
  readonly refreshToken: string | undefined;
  /** When the access token expires (ms since the epoch); absent if it does not. */
  readonly expiresAt: number | undefined;
  readonly installedAt: number;
  /** When the current pair was issued. */
  readonly updatedAt: number;
}

/** What may be listed about an installation: never its tokens. */
export interface InstallationSummary {
  readonly teamId: string;
  readonly installedAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number | undefined;
  /** Some instance is refreshing the tokens right now (holds the lease). */
  readonly refreshing: boolean;
  /** A refresh was started and its holder's lease lapsed without a commit (it crashed). */
  readonly abandoned: boolean;
}

/** A new pair from a refresh grant. */
export interface RotatedTokens {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly expiresAt: number | undefined;
  readonly updatedAt: number;
}
