import { CodedError } from '../errors';
import type { OutboundReview } from '../policy/outbound-guard';
import type { Priority, RateGovernor } from '../rate-limit/rate-governor';

/** A failed Web API call: `apiError` is ClickDesk's own error string (e.g. `conversation_not_found`). */
export class ClickDeskApiError extends CodedError {
  constructor(
    code:
      | 'CLICKDESK_API_ERROR'
      | 'CLICKDESK_AUTH_FAILED'
      | 'CLICKDESK_LINK_DISABLED'
      | 'CLICKDESK_RATE_LIMITED'
      | 'CLICKDESK_HTTP_ERROR',
    readonly method: string,
    readonly apiError: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(code, `ClickDesk ${method} failed: ${apiError}`, options);
  }
}

/** Every outcome a Web API call is counted under (metrics label `outcome`). */
export const API_OUTCOMES = [
  'ok',
  'api_error',
  'auth_error',
  'token_expired',
  'ratelimited',
  'network_error',
  'bad_response',
] as const;
export type ApiOutcome = (typeof API_OUTCOMES)[number];

const AUTH_ERRORS = new Set(['invalid_auth', 'token_revoked', 'not_authed', 'token_expired']);

/** Calls a visitor is waiting on go ahead of background work (refreshes) for the same budget. */
const REPLY_METHODS = new Set(['chat.postMessage', 'conversations.transfer', 'apps.connections.open']);

export interface WebApiClientOptions {
  /** Base URL ending in "/", e.g. http://127.0.0.1:4100/api/ */
  baseUrl: string;
  appToken: string;
  /** The bot token of a team: the static one, or its installation's (see installations/). */
  botTokenFor: (teamId: string) => string | Promise<string>;
  /** After `token_expired`: a fresh token for the team; the call is then retried once. */
  renewBotToken?: (teamId: string, expired: string) => Promise<string>;
  /** ClickDesk refused a team's token for good (revoked, invalid). */
  onBotAuthFailed?: (teamId: string, apiError: string) => void;
  /** The channel policy's review of every call that carries text (Terms 4.8); not optional. */
  review: OutboundReview;
  /** Paces every call within ClickDesk's limits (Terms 4.9); not optional. */
  governor: RateGovernor;
  /** The egress-restricted fetch (see policy/egress-fetch.ts): the client has no other way out. */
  fetchImpl: typeof fetch;
  timeoutMs?: number;
  /** Observes every response, for metrics. */
  onResponse?: (info: { method: string; status: number; outcome: ApiOutcome }) => void;
}

/** One message of `conversations.history`. */
export interface HistoryMessage {
  id: string;
  ts: string;
  sender: { kind: string; id: string };
  text: string;
  client_msg_id?: string;
}

/** Which token a call uses: the app token (RTM only) or a team's bot token. */
export type Auth = { kind: 'app' } | { kind: 'bot'; teamId: string };

/**
 * ClickDesk's Web API over HTTP (docs/clickdesk-contract.md §1). Every call, whichever method,
 * passes the channel policy's review and then waits for the rate governor before it leaves.
 */
export class ClickDeskWebApi {
  constructor(private readonly opts: WebApiClientOptions) {}

  /** Asks for a single-use RTM URL; `priority` lets an urgent replacement go ahead of background opens. */
  async openConnection(priority?: Priority): Promise<string> {
    const result = await this.call<{ url: string }>(
      'apps.connections.open',
      {},
      { kind: 'app' },
      priority ? { priority } : {},
    );
    if (typeof result.url !== 'string')
      throw new ClickDeskApiError('CLICKDESK_API_ERROR', 'apps.connections.open', 'no_url');
    return result.url;
  }

  /**
   * `clientMsgId` is stored with the message (contract §1) so a send of unknown outcome can be
   * looked up; `beforeSend` runs once the governor grants capacity, right before the request.
   */
  async postMessage(
    teamId: string,
    conversationId: string,
    text: string,
    options: { clientMsgId?: string; beforeSend?: () => Promise<void> } = {},
  ): Promise<{ id: string; ts: string }> {
    const body = {
      conversation_id: conversationId,
      text,
      ...(options.clientMsgId === undefined ? {} : { client_msg_id: options.clientMsgId }),
    };
    const result = await this.call<{ message: { id: string; ts: string } }>(
      'chat.postMessage',
      body,
      { kind: 'bot', teamId },
      { beforeSend: options.beforeSend },
    );
    return result.message;
  }

  /** A conversation's messages since `oldestMs`, newest first (contract §1 `conversations.history`). */
  async history(
    teamId: string,
    conversationId: string,
    options: { oldestMs?: number; limit?: number } = {},
  ): Promise<HistoryMessage[]> {
    const result = await this.call<{ messages?: HistoryMessage[] }>(
      'conversations.history',
      {
        conversation_id: conversationId,
        limit: options.limit ?? 100,
        ...(options.oldestMs === undefined ? {} : { oldest: (options.oldestMs / 1000).toFixed(6) }),
      },
      { kind: 'bot', teamId },
      { priority: 'reply' },
    );
    return Array.isArray(result.messages) ? result.messages : [];
  }

  async transferToAgents(teamId: string, conversationId: string): Promise<void> {
    await this.call(
      'conversations.transfer',
      { conversation_id: conversationId, to: 'agents' },
      { kind: 'bot', teamId },
    );
  }

  async call<T extends object>(
    method: string,
    args: Record<string, unknown>,
    auth: Auth,
    options: { priority?: Priority; beforeSend?: () => Promise<void> } = {},
  ): Promise<T> {
    const body = JSON.stringify(
      this.opts.review(auth.kind === 'bot' ? auth.teamId : undefined, method, args),
    );
    const scope = auth.kind === 'app' ? 'app' : `team:${auth.teamId}`;
    const call = {
      method,
      scope,
      conversationId: typeof args.conversation_id === 'string' ? args.conversation_id : undefined,
      priority: options.priority ?? (REPLY_METHODS.has(method) ? 'reply' : 'background'),
    } as const;
    const { beforeSend } = options;
    const run = (token: string): Promise<T> =>
      this.opts.governor.run(call, async () => {
        await beforeSend?.();
        return this.send<T>(method, scope, body, token);
      });
    if (auth.kind === 'app') return run(this.opts.appToken);
    const token = await this.opts.botTokenFor(auth.teamId);
    try {
      return await run(token);
    } catch (err) {
      if (!(err instanceof ClickDeskApiError) || err.code !== 'CLICKDESK_AUTH_FAILED') throw err;
      if (err.apiError === 'token_expired' && this.opts.renewBotToken) {
        // §4: refresh, then retry the call once.
        return run(await this.opts.renewBotToken(auth.teamId, token));
      }
      if (err.apiError !== 'token_expired') this.opts.onBotAuthFailed?.(auth.teamId, err.apiError);
      throw err;
    }
  }

  private async send<T>(method: string, scope: string, body: string, token: string): Promise<T> {
    let response: Response;
    try {
      response = await this.opts.fetchImpl(new URL(method, this.opts.baseUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      this.observe(method, 0, 'network_error');
      throw new ClickDeskApiError('CLICKDESK_HTTP_ERROR', method, 'network_error', undefined, { cause: err });
    }
    await this.opts.governor.observeHeaders({ method, scope }, response.headers);
    let answer: { ok?: unknown; error?: unknown } & Record<string, unknown>;
    try {
      answer = (await response.json()) as typeof answer;
    } catch (err) {
      this.observe(method, response.status, 'bad_response');
      throw new ClickDeskApiError('CLICKDESK_HTTP_ERROR', method, `http_${response.status}`, undefined, {
        cause: err,
      });
    }
    if (response.status === 429) {
      this.observe(method, 429, 'ratelimited');
      const retryAfter = Number(response.headers.get('retry-after') ?? '1');
      throw new ClickDeskApiError(
        'CLICKDESK_RATE_LIMITED',
        method,
        'ratelimited',
        Number.isFinite(retryAfter) ? retryAfter : 1,
      );
    }
    if (answer.ok === true) {
      this.observe(method, response.status, 'ok');
      return answer as T;
    }
    const apiError = typeof answer.error === 'string' ? answer.error : `http_${response.status}`;
    const auth = AUTH_ERRORS.has(apiError);
    // An expired token is routine (it is refreshed and the call retried), not an auth failure.
    this.observe(
      method,
      response.status,
      apiError === 'token_expired' ? 'token_expired' : auth ? 'auth_error' : 'api_error',
    );
    const code = auth
      ? 'CLICKDESK_AUTH_FAILED'
      : apiError === 'link_disabled'
        ? 'CLICKDESK_LINK_DISABLED'
        : 'CLICKDESK_API_ERROR';
    throw new ClickDeskApiError(code, method, apiError);
  }

  private observe(method: string, status: number, outcome: ApiOutcome): void {
    this.opts.onResponse?.({ method, status, outcome });
  }
}
