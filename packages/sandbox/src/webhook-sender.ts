import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { SimulatorCounters } from './counters';
import type { SimulatorOptions } from './simulator-options';

export type LifecycleType =
  | 'data_deletion.requested'
  | 'app.deauthorized'
  | 'account.closed'
  | 'app.uninstalled'
  | 'api_access.terminated';

export interface DeliveryReport {
  webhookId: string;
  attempts: number;
  status: number | 'timeout' | 'network_error';
  delivered: boolean;
}

/**
 * Lifecycle webhooks (docs/clickdesk-contract.md §4), signed per Standard Webhooks with every
 * configured secret (two during a rotation), retried with the same id on non-2xx or timeout.
 */
export class WebhookSender {
  private readonly signers: Webhook[];
  private stopped = false;

  constructor(
    private readonly opts: SimulatorOptions['webhook'],
    private readonly counters: () => SimulatorCounters,
  ) {
    this.signers = opts.secrets.map((s) => new Webhook(s));
  }

  /** Signs the headers for a body exactly as sent; exposed so tests can forge variants. */
  sign(webhookId: string, timestampSeconds: number, body: string): Record<string, string> {
    const signature = this.signers
      .map((s) => s.sign(webhookId, new Date(timestampSeconds * 1000), body))
      .join(' ');
    return {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': signature,
    };
  }

  async send(
    type: LifecycleType,
    fields: Record<string, unknown>,
    url = this.opts.url,
  ): Promise<DeliveryReport> {
    if (!url) throw new Error('no webhook URL configured for the simulator');
    if (this.signers.length === 0) throw new Error('no webhook secret configured for the simulator');
    const webhookId = `msg_${randomUUID()}`;
    const body = JSON.stringify({ type, ...fields });
    let status: DeliveryReport['status'] = 'network_error';
    for (let attempt = 1; attempt <= this.opts.retries + 1 && !this.stopped; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, this.opts.retryBaseMs * 2 ** (attempt - 2)));
      this.counters().webhookAttempts += 1;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: this.sign(webhookId, Math.floor(Date.now() / 1000), body),
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        status = res.status;
        await res.arrayBuffer();
        if (res.ok) {
          this.counters().webhooksDelivered += 1;
          return { webhookId, attempts: attempt, status, delivered: true };
        }
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network_error';
      }
    }
    this.counters().webhooksFailed += 1;
    return { webhookId, attempts: this.opts.retries + 1, status, delivered: false };
  }

  stop(): void {
    this.stopped = true;
  }
}
