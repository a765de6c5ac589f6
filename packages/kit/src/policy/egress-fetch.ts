import { CodedError } from '../errors';

/**
 * The app's only way out to the network: a fetch that reaches the configured ClickDesk
 * origin and the origins an operator allowlisted, and refuses everything else (Terms 4.8.2,
 * 4.8.3: chat Data and contact details go nowhere but ClickDesk). A test fails the build if any
 * other module opens a connection of its own.
 */
export function createEgressFetch(
  allowedOrigins: readonly string[],
  base: typeof fetch = fetch,
): typeof fetch {
  const allowed = new Set(allowedOrigins.map((o) => new URL(o).origin));
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (!allowed.has(url.origin)) {
      return Promise.reject(
        new CodedError(
          'EGRESS_BLOCKED',
          `outbound request to ${url.origin} refused: ${allowed.size > 0 ? `only ${[...allowed].join(', ')} may be reached` : 'no origin may be reached'}. A bot's own services go in its defineBot({ egress }), others in EGRESS_ALLOWED_ORIGINS`,
        ),
      );
    }
    return base(input, init);
  };
}
