import type { Request, Response } from 'express';
import { SCOPES } from './oauth-authority';
import type { Simulator } from './simulator';

/**
 * `oauth.v2.access` (docs/installations.md): client authentication by HTTP Basic or by
 * `client_id` + `client_secret` fields; the authorization_code and refresh_token grants.
 */
export function oauthAccess(sim: Simulator, req: Request, res: Response): void {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const field = (name: string): string => (typeof body[name] === 'string' ? body[name] : '');
  const fail = (error: string): void => void res.json({ ok: false, error });

  let clientId = field('client_id');
  let secret = field('client_secret');
  const basic = /^Basic (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // RFC 6749 2.3.1: both parts are form-urlencoded inside Basic.
    clientId = safeDecode(decoded.slice(0, Math.max(0, colon)));
    secret = safeDecode(decoded.slice(colon + 1));
  }
  if (!sim.oauth.clientMatches(clientId, secret)) return fail('invalid_client');

  const grantType = field('grant_type');
  let grant;
  if (grantType === 'authorization_code') {
    if (!field('code') || !field('redirect_uri')) return fail('invalid_arguments');
    grant = sim.oauth.exchangeCode(field('code'), field('redirect_uri'));
  } else if (grantType === 'refresh_token') {
    if (!field('refresh_token')) return fail('invalid_arguments');
    grant = sim.oauth.refresh(field('refresh_token'));
  } else {
    return fail('invalid_arguments');
  }
  if (!grant.ok) return fail(grant.error);
  const team = sim.teamById(grant.teamId);
  res.json({
    ok: true,
    app_id: sim.options.appId,
    team: { id: grant.teamId, name: team?.name ?? grant.teamId },
    installer: { id: grant.installerId },
    bot_user_id: team?.botId ?? '',
    scope: SCOPES,
    token_type: 'bot',
    ...grant.pair,
  });
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
