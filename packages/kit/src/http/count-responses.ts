import type { RequestHandler } from 'express';

/** Requests outside every named route are counted under this one label. */
export const OTHER_ROUTE = 'other';

/**
 * Reports each answered request once, under the longest of `routes` its path falls under (a
 * mount path such as `/webhooks/clickdesk`), else `other`: a bounded label whatever the URL.
 * Counted when the response is finished, so rejections by body parsing or auth are included.
 */
export function countResponses(
  routes: readonly string[],
  observe: (route: string, status: number) => void,
): RequestHandler {
  const longestFirst = [...routes].sort((a, b) => b.length - a.length);
  const routeOf = (path: string): string =>
    longestFirst.find((r) => path === r || path.startsWith(`${r}/`)) ?? OTHER_ROUTE;
  return (req, res, next) => {
    const route = routeOf(req.path);
    res.on('finish', () => observe(route, res.statusCode));
    next();
  };
}
