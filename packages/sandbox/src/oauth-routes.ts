import express, { type Request, type Response } from 'express';
import { SCOPES } from './oauth-authority';
import type { Simulator } from './simulator';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action *";

/**
 * The consent page of installation by OAuth (docs/installations.md) at `{oauth_base}/oauth/v2/authorize`: Allow
 * redirects with a code, Cancel with `error=access_denied`; an unknown client or a redirect URL
 * not registered exactly is refused here, with no redirect. `team` (a simulator extension)
 * preselects the team the admin installs into.
 */
export function oauthRouter(sim: Simulator): express.Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  const param = (req: Request, name: string): string => {
    const source = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown> | undefined;
    const v = source?.[name];
    return typeof v === 'string' ? v : '';
  };

  /** Returns the redirect URL when the request names this app and a registered URL; answers otherwise. */
  const checked = (req: Request, res: Response): string | undefined => {
    const authority = sim.oauth;
    if (param(req, 'client_id') !== authority.options.clientId) {
      page(res, 400, 'Unknown app', '<p>No app with this <code>client_id</code> is registered.</p>');
      return undefined;
    }
    const redirectUri = param(req, 'redirect_uri');
    if (!authority.redirectRegistered(redirectUri)) {
      page(
        res,
        400,
        'Redirect URL not registered',
        `<p>The app asked to return to <code>${esc(redirectUri)}</code>, which is not one of its registered redirect URLs. Nothing was installed and you were not sent anywhere.</p>`,
      );
      return undefined;
    }
    return redirectUri;
  };

  router.get('/v2/authorize', (req, res) => {
    if (!checked(req, res)) return;
    const preselect = param(req, 'team');
    const options = sim.options.teams
      .map(
        (t) =>
          `<option value="${esc(t.id)}"${t.id === preselect ? ' selected' : ''}>${esc(t.name)} (${esc(t.id)})</option>`,
      )
      .join('');
    const hidden = ['client_id', 'redirect_uri', 'state', 'scope']
      .map((n) => `<input type="hidden" name="${n}" value="${esc(param(req, n))}">`)
      .join('');
    page(
      res,
      200,
      `Install ${esc(sim.options.appName)}?`,
      `<form method="post" action="authorize">${hidden}
        <p><label>Install into <select name="team_id" id="team">${options}</select></label></p>
        <p>It will be able to: <code>${esc(param(req, 'scope') || SCOPES)}</code></p>
        <button type="submit" name="decision" value="allow" id="allow">Allow</button>
        <button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
      </form>`,
    );
  });

  router.post('/v2/authorize', (req, res) => {
    const redirectUri = checked(req, res);
    if (!redirectUri) return;
    const target = new URL(redirectUri);
    const state = param(req, 'state');
    if (param(req, 'decision') === 'allow') {
      const team = sim.options.teams.find((t) => t.id === param(req, 'team_id'));
      if (!team) {
        page(res, 400, 'Unknown team', '<p>Choose one of the listed teams.</p>');
        return;
      }
      target.searchParams.set('code', sim.oauth.issueCode(team.id, redirectUri));
    } else {
      target.searchParams.set('error', 'access_denied');
    }
    if (state) target.searchParams.set('state', state);
    res.redirect(302, target.toString());
  });
  return router;
}

function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set('Content-Security-Policy', CSP)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`,
    );
}

function esc(value: string): string {
  return value.replace(
    /[&"'<>]/g,
    (c) => ({ '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;' })[c] ?? c,
  );
}
