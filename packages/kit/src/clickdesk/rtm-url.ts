import { CodedError } from '../errors';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * Terms 8 (security): the RTM URL that `apps.connections.open` returns carries a ticket and,
 * once open, the app's events; it is only followed if it points where the API lives. It must
 * be `wss:` (or `ws:` when the API itself is plain `http:`, as the sandbox is) on the API's
 * host and port; `localhost` and loopback addresses count as one host. Returns the parsed URL.
 */
export function checkRtmUrl(raw: string, apiUrl: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CodedError(
      'RTM_CONNECT_FAILED',
      'apps.connections.open returned a URL that does not parse; not following it',
    );
  }
  const api = new URL(apiUrl);
  const allowed = api.protocol === 'https:' ? ['wss:'] : ['wss:', 'ws:'];
  if (!allowed.includes(url.protocol))
    throw new CodedError(
      'RTM_CONNECT_FAILED',
      `apps.connections.open returned a ${url.protocol} URL; only ${allowed.join(' or ')} is followed for an API at ${api.protocol}//${api.host}`,
    );
  const sameHost =
    url.hostname === api.hostname || (LOOPBACK.has(url.hostname) && LOOPBACK.has(api.hostname));
  const port = (u: URL): string => u.port || (DEFAULT_PORT[u.protocol] ?? '');
  if (!sameHost || port(url) !== port(api))
    throw new CodedError(
      'RTM_CONNECT_FAILED',
      `apps.connections.open returned an RTM URL on ${url.host}, not on the API's host ${api.host}; not following it (check CLICKDESK_API_URL)`,
    );
  return url;
}
