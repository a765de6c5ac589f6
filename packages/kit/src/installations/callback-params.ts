/** What ClickDesk's redirect to `/oauth/callback` carries, read without trusting any of it. */
export type CallbackParams =
  | { ok: true; params: URLSearchParams; state: string; outcome: 'code' | 'error' }
  | { ok: false; problem: string };

/** The parameters of the redirect that may appear at most once each (RFC 6749 4.1.2). */
const SINGLE = ['state', 'code', 'error', 'error_description', 'error_uri', 'iss'] as const;

/** Codes are opaque, but always a short run of URL-safe characters: anything else cannot be one. */
const CODE_SHAPE = /^[A-Za-z0-9._~-]{1,256}$/;

/**
 * Checks the callback's parameters before anything is spent (the state, a permit of the shared
 * `oauth.v2.access` budget): a repeated parameter, both or neither of `code` and `error`, or a
 * code that cannot be one is refused here, with the reason as `problem`.
 */
export function readCallbackParams(originalUrl: string): CallbackParams {
  let params: URLSearchParams;
  try {
    params = new URL(originalUrl, 'http://app.invalid').searchParams;
  } catch {
    return { ok: false, problem: 'This link is not a valid address.' };
  }
  for (const name of SINGLE)
    if (params.getAll(name).length > 1)
      return { ok: false, problem: `This link carries the parameter "${name}" more than once.` };
  const code = params.get('code');
  const error = params.get('error');
  if (code !== null && error !== null)
    return { ok: false, problem: 'This link carries both an authorization and an error.' };
  if (code === null && error === null)
    return { ok: false, problem: 'This link carries no authorization from ClickDesk.' };
  if (code !== null && !CODE_SHAPE.test(code))
    return { ok: false, problem: 'The authorization in this link is not one ClickDesk issues.' };
  return { ok: true, params, state: params.get('state') ?? '', outcome: code === null ? 'error' : 'code' };
}

/** A cookie's value; undefined when absent or not decodable (`%zz`, `%C0%80`): never throws. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
