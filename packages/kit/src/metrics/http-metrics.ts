import { Counter, type Registry } from 'prom-client';

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Requests the app's HTTP server answered, by route (the mount path of the part that serves
 * it, or `other`) and status class: a rejected webhook delivery (401, 409, 413) shows as 4xx
 * on `/webhooks/clickdesk`. Routes are the app's own few mount paths, never a raw URL.
 */
export class HttpMetrics {
  readonly requests: Counter<'route' | 'status_class'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'clickdesk_http_requests_total',
      help: 'HTTP requests answered, by route (mount path, or other) and status class (2xx, 3xx, 4xx, 5xx).',
      labelNames: ['route', 'status_class'],
      registers: [registry],
    });
  }

  /** Every route at 0 in every class from the start, so the first rejection moves rate(). */
  preset(routes: readonly string[]): void {
    for (const route of routes)
      for (const status_class of STATUS_CLASSES) this.requests.inc({ route, status_class }, 0);
  }

  observe(route: string, status: number): void {
    const status_class = `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx`;
    this.requests.inc({ route, status_class });
  }
}
