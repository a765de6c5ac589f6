import * as oauth from 'oauth4webapi';
import { isAddressableTeamId } from '../core/team-id';
import { CodedError } from '../errors';
import type { Priority, RateGovernor } from '../rate-limit/rate-governor';
import type { Installation } from './installation';

/** ClickDesk's answer to a grant, as the app keeps it. */
export type TokenGrant = Omit<Installation, 'installedAt'>;

/** `oauth.v2.access` said no: `apiError` is ClickDesk's error (invalid_grant, code_already_used, …). */
export class OAuthGrantError extends CodedError {
  constructor(
    readonly apiError: string,
    options?: { cause?: unknown },
  ) {
    super('OAUTH_FAILED', `ClickDesk oauth.v2.access failed: ${apiError}`, options);
  }
}

export interface ClickDeskOAuthClientOptions {
  /** The Web API base (…/api/); the authorize page is at its host's /oauth/v2/authorize. */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  /** `{PUBLIC_URL}/oauth/callback`, registered with ClickDesk exactly (known once the app listens). */
  redirectUri: () => string;
  /** The egress-restricted fetch. */
  fetchImpl: typeof fetch;
  /** `oauth.v2.access` counts against a per-app limit like every other method (Terms 4.9). */
  governor: RateGovernor;
  now?: () => number;
  timeoutMs?: number;
}

export const SCOPES = 'chat:write conversations:read conversations:write visitors:read agents:read team:read';

/**
 * The protocol side of installation (docs/installations.md), on `oauth4webapi`: the
 * authorize URL, the callback's validation, the authorization_code and refresh_token grants
 * with client authentication by HTTP Basic. ClickDesk answers errors with HTTP 200 and
 * `{"ok":false,"error":…}` and calls its tokens `token_type: "bot"`; both are handled here.
 */
export class ClickDeskOAuthClient {
  private readonly as: oauth.AuthorizationServer;
  private readonly client: oauth.Client;
  private readonly auth: oauth.ClientAuth;
  private readonly now: () => number;

  constructor(private readonly opts: ClickDeskOAuthClientOptions) {
    const base = new URL('../', opts.apiUrl);
    this.as = { issuer: base.origin, token_endpoint: new URL('oauth.v2.access', opts.apiUrl).toString() };
    this.client = { client_id: opts.clientId };
    this.auth = oauth.ClientSecretBasic(opts.clientSecret);
    this.now = opts.now ?? Date.now;
  }

  get redirectUri(): string {
    return this.opts.redirectUri();
  }

  authorizeUrl(state: string): string {
    const url = new URL('oauth/v2/authorize', `${this.as.issuer}/`);
    url.search = new URLSearchParams({
      client_id: this.opts.clientId,
      scope: SCOPES,
      redirect_uri: this.redirectUri,
      state,
    }).toString();
    return url.toString();
  }

  /**
   * The callback's parameters checked against the state (already verified by the caller):
   * throws OAuthGrantError('access_denied') when the admin cancelled.
   */
  validateCallback(params: URLSearchParams, state: string): URLSearchParams {
    try {
      return oauth.validateAuthResponse(this.as, this.client, params, state);
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError)
        throw new OAuthGrantError(err.error, { cause: err });
      throw new OAuthGrantError('invalid_callback', { cause: err });
    }
  }

  async exchangeCode(callback: URLSearchParams): Promise<TokenGrant> {
    return this.grant('code', (options) =>
      oauth.authorizationCodeGrantRequest(
        this.as,
        this.client,
        this.auth,
        callback,
        this.redirectUri,
        oauth.nopkce,
        options,
      ),
    );
  }

  async refresh(refreshToken: string): Promise<TokenGrant> {
    return this.grant('refresh', (options) =>
      oauth.refreshTokenGrantRequest(this.as, this.client, this.auth, refreshToken, options),
    );
  }

  private async grant(
    kind: 'code' | 'refresh',
    request: (options: oauth.TokenEndpointRequestOptions) => Promise<Response>,
  ): Promise<TokenGrant> {
    const endpoint = new URL(this.as.token_endpoint ?? '');
    const response = await this.opts.governor.run(
      {
        method: 'oauth.v2.access',
        scope: 'app',
        // A refresh keeps an installed team served; a code exchange is triggered by whoever can
        // reach /oauth/callback, so it may only use what the reserve for refreshes leaves.
        priority: kind === 'refresh' ? 'reply' : ('guest' satisfies Priority),
      },
      async () => {
        const options: oauth.TokenEndpointRequestOptions = {
          // Plain http only towards a simulator on this machine; anything else must be https.
          [oauth.allowInsecureRequests]: endpoint.protocol === 'http:' && isLoopback(endpoint.hostname),
          [oauth.customFetch]: this.opts.fetchImpl,
          // Counted from the permit, not from the queue: a call that waited still gets its full time.
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        };
        try {
          return await request(options);
        } catch (err) {
          throw new OAuthGrantError('network_error', { cause: err });
        }
      },
    );
    await this.opts.governor.observeHeaders({ method: 'oauth.v2.access', scope: 'app' }, response.headers);
    const body = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { ok?: unknown; error?: unknown } & Record<string, unknown>;
    if (response.status === 429) throw new OAuthGrantError('ratelimited');
    if (body.ok !== true)
      throw new OAuthGrantError(typeof body.error === 'string' ? body.error : `http_${response.status}`);
    let tokens: oauth.TokenEndpointResponse;
    try {
      const recognizedTokenTypes = { bot: () => undefined };
      tokens =
        kind === 'code'
          ? await oauth.processAuthorizationCodeResponse(this.as, this.client, response, {
              recognizedTokenTypes,
            })
          : await oauth.processRefreshTokenResponse(this.as, this.client, response, { recognizedTokenTypes });
    } catch (err) {
      throw new OAuthGrantError('invalid_response', { cause: err });
    }
    const team = (body.team ?? {}) as { id?: unknown; name?: unknown };
    // A reserved id (`*`, empty) would make the installation a row no webhook can address.
    if (!isAddressableTeamId(team.id)) throw new OAuthGrantError('invalid_response');
    const now = this.now();
    return {
      teamId: team.id,
      teamName: typeof team.name === 'string' ? team.name : team.id,
      appId: typeof body.app_id === 'string' ? body.app_id : '',
      botUserId: typeof body.bot_user_id === 'string' ? body.bot_user_id : '',
      installerId:
        typeof (body.installer as { id?: unknown })?.id === 'string'
          ? (body.installer as { id: string }).id
          : '',
      scope: tokens.scope ?? SCOPES,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: tokens.expires_in === undefined ? undefined : now + tokens.expires_in * 1000,
      updatedAt: now,
    };
  }
}

/** This machine: loopback, or the any-address a local simulator listens on (SANDBOX_HOST=0.0.0.0). */
function isLoopback(hostname: string): boolean {
  return (
    ['localhost', '[::1]', '0.0.0.0', '[::]'].includes(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname)
  );
}
