import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { describeError, isCodedError } from '../errors';
import { cookieValue, readCallbackParams } from './callback-params';
import type { ClickDeskOAuthClient } from './clickdesk-oauth-client';
import { OAuthGrantError } from './clickdesk-oauth-client';
import type { Installation } from './installation';
import type { InstallationStore } from './installation-store';
import { STATE_TTL_MS, type InstallState, type StateCheck } from './install-state';
import { installPage } from './install-pages';
import { ExchangeLimiter } from './exchange-limiter';

export interface InstallRouterOptions {
  oauth: Pick<ClickDeskOAuthClient, 'authorizeUrl' | 'validateCallback' | 'exchangeCode' | 'redirectUri'>;
  state: InstallState;
  store: InstallationStore;
  logger: Logger;
  /** Called once the installation is stored (the token rotator starts using it). */
  onInstalled?: (inst: Installation) => void;
  /** Code exchanges per client address (default: ExchangeLimiter's defaults). */
  exchanges?: ExchangeLimiter;
  now?: () => number;
}

const COOKIE = 'cdbs_install';

const STATE_PROBLEMS: Record<Exclude<StateCheck, { ok: true }>['reason'], string> = {
  malformed: 'This link does not come from an install started here.',
  forged: 'This link does not come from an install started here.',
  expired: 'This install link expired (links last 10 minutes).',
  other_browser: 'This install was started in another browser (or its cookie was cleared).',
  replayed: 'This install link was already used.',
};

/**
 * The install flow (docs/installations.md): `GET /install` shows an "Add to ClickDesk"
 * button carrying a signed single-use state bound to this browser by a cookie; ClickDesk's
 * consent page sends the browser back to `GET /oauth/callback`, which checks the state,
 * exchanges the code and stores the installation (replacing an earlier one of the team).
 */
export function installRouter(opts: InstallRouterOptions): express.Router {
  const router = express.Router();
  const now = opts.now ?? Date.now;

  router.get('/install', (req: Request, res: Response) => {
    const { state, nonce } = opts.state.issue();
    const secure = new URL(opts.oauth.redirectUri).protocol === 'https:';
    res.cookie(COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax', // sent on ClickDesk's top-level redirect back to the callback
      secure,
      path: '/oauth',
      maxAge: STATE_TTL_MS,
    });
    res.set('Cache-Control', 'no-store');
    const url = new URL(opts.oauth.authorizeUrl(state));
    // Sandbox extension: preselect a team on the simulator's consent page.
    if (typeof req.query.team === 'string' && /^T[A-Z0-9]{1,20}$/.test(req.query.team))
      url.searchParams.set('team', req.query.team);
    installPage(
      res,
      200,
      'Add the bot to ClickDesk',
      ['Install the chat bot into your ClickDesk team. ClickDesk will ask you to confirm.'],
      { href: url.toString(), label: 'Add to ClickDesk', id: 'add-to-clickdesk' },
    );
  });

  const exchanges = opts.exchanges ?? new ExchangeLimiter();
  router.get('/oauth/callback', async (req: Request, res: Response) => {
    const log = opts.logger.child({ part: 'install' });
    const again = { href: '/install', label: 'Start again', id: 'start-again' };
    res.clearCookie(COOKIE, { path: '/oauth' });
    res.set('Cache-Control', 'no-store');
    const refuse = (status: number, title: string, lines: string[]): void =>
      installPage(res, status, title, [...lines, 'Nothing was installed.'], again);
    // Everything that can be judged without spending anything comes first: the parameters, then
    // the state's signature, expiry and browser; only then the state and a permit are spent.
    const read = readCallbackParams(req.originalUrl);
    if (!read.ok) {
      log.warn({ reason: 'malformed_callback' }, 'install callback refused: malformed parameters');
      refuse(400, 'Install link not valid', [read.problem]);
      return;
    }
    const cookie = cookieValue(req.get('cookie'), COOKIE);
    const verified = opts.state.verify(read.state, cookie);
    if (!verified.ok) {
      log.warn({ reason: verified.reason }, 'install callback refused: bad state');
      refuse(400, 'Install link not valid', [STATE_PROBLEMS[verified.reason]]);
      return;
    }
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const exchanging = read.outcome === 'code';
    if (exchanging && !exchanges.take(address)) {
      log.warn({ reason: 'too_many_exchanges' }, 'install callback refused: too many from this address');
      res.set('Retry-After', '600');
      refuse(429, 'Too many install attempts', [
        'Too many installs that did not complete came from your network. Try again in 10 minutes.',
      ]);
      return;
    }
    let installed = false;
    try {
      const spent = await opts.state.spend(read.state);
      if (!spent.ok) {
        log.warn({ reason: spent.reason }, 'install callback refused: bad state');
        refuse(400, 'Install link not valid', [STATE_PROBLEMS[spent.reason]]);
        return;
      }
      const callback = opts.oauth.validateCallback(read.params, read.state);
      const grant = await opts.oauth.exchangeCode(callback);
      const inst: Installation = { ...grant, installedAt: now() };
      await opts.store.save(inst);
      installed = true;
      opts.onInstalled?.(inst);
      log.info({ teamId: inst.teamId }, 'installed');
      installPage(res, 200, 'Installed', [
        `The bot is now installed in ${inst.teamName} (${inst.teamId}). It answers your visitors from now on.`,
      ]);
    } catch (err) {
      const apiError =
        err instanceof OAuthGrantError
          ? err.apiError
          : isCodedError(err, 'RATE_QUEUE_FULL') || isCodedError(err, 'RATE_DEADLINE')
            ? 'busy'
            : 'internal';
      log.warn({ err: describeError(err) }, 'install failed');
      const [status, lines] = failure(apiError);
      if (status === 503) res.set('Retry-After', '60');
      installPage(res, status, status === 403 ? 'Install cancelled' : 'Install failed', lines, again);
    } finally {
      if (installed && exchanging) exchanges.giveBack(address);
    }
  });
  return router;
}

function failure(apiError: string): [number, string[]] {
  switch (apiError) {
    case 'access_denied':
      return [403, ['You chose Cancel on ClickDesk, so nothing was installed.']];
    case 'code_already_used':
      return [
        400,
        ['This authorization was already used (the page was reloaded or the link shared). Nothing changed.'],
      ];
    case 'invalid_code':
      return [400, ['The authorization expired before it reached us (codes last 10 minutes).']];
    case 'bad_redirect_uri':
      return [
        400,
        [
          "ClickDesk refused the redirect URL. PUBLIC_URL + /oauth/callback must equal, exactly, a redirect URL registered in the app's ClickDesk settings.",
        ],
      ];
    case 'busy':
      return [503, ['Too many installs are under way right now. Try again in a minute.']];
    case 'invalid_client':
      return [
        500,
        ['ClickDesk refused the app credentials: check CLICKDESK_CLIENT_ID and CLICKDESK_CLIENT_SECRET.'],
      ];
    default:
      return [502, [`ClickDesk did not complete the install (${apiError}). Try again in a minute.`]];
  }
}
