import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { lifecycleEventSchema, scopeOf } from '../lifecycle/lifecycle-event';
import type { LifecycleJobs } from '../lifecycle/lifecycle-jobs';

export interface LifecycleWebhookOptions {
  /** whsec_… secrets; two during a rotation, either one verifies. */
  secrets: readonly string[];
  jobs: LifecycleJobs;
  /** The blind ref of a subject (the raw id is never stored). */
  refOf: (teamId: string, kind: 'visitor' | 'agent', id: string) => string;
  /** A job was recorded: run it soon. */
  onJob: () => void;
  logger: Logger;
  maxBodyBytes?: number;
}

/**
 * POST /webhooks/clickdesk (shared/clickdesk-api.md §3; Terms 6.3, 6.4, 12.4). The Standard
 * Webhooks signature is checked over the raw body, timestamps more than 5 minutes off either way
 * are refused, and the job is recorded with its webhook-id in one transaction before the 2xx, so
 * a retry (same id) gets 2xx and no second job. Bad signature: 401; malformed: 400; too big: 413.
 */
export function lifecycleWebhookRouter(opts: LifecycleWebhookOptions): express.Router {
  const verifiers = opts.secrets.map((s) => new Webhook(s));
  const router = express.Router();
  router.post(
    '/',
    express.raw({ type: () => true, limit: opts.maxBodyBytes ?? 64 * 1024 }),
    (req: Request, res: Response, next) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const headers = {
        'webhook-id': req.get('webhook-id') ?? '',
        'webhook-timestamp': req.get('webhook-timestamp') ?? '',
        'webhook-signature': req.get('webhook-signature') ?? '',
      };
      let reason = 'no webhook secret is configured (WEBHOOK_SECRETS)';
      const verified = verifiers.some((v) => {
        try {
          v.verify(body, headers);
          return true;
        } catch (err) {
          reason = (err as Error).message;
          return false;
        }
      });
      if (!verified) {
        opts.logger.warn(
          { webhookId: headers['webhook-id'] || undefined, reason },
          'lifecycle webhook refused',
        );
        res
          .status(401)
          .json({ ok: false, error: 'invalid_signature', message: `webhook not accepted: ${reason}` });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        res.status(400).json({ ok: false, error: 'malformed_body', message: 'the body is not JSON' });
        return;
      }
      const parsed = lifecycleEventSchema.safeParse(json);
      if (!parsed.success) {
        res.status(400).json({ ok: false, error: 'malformed_body', message: z.prettifyError(parsed.error) });
        return;
      }
      const event = parsed.data;
      const requestedAt =
        'requested_at' in event && event.requested_at !== undefined
          ? Number(new Date(event.requested_at))
          : undefined;
      opts.jobs
        .record(
          headers['webhook-id'],
          event.type,
          scopeOf(event, opts.refOf),
          Number.isFinite(requestedAt) ? requestedAt : undefined,
        )
        .then((outcome) => {
          opts.logger.info(
            { webhookId: headers['webhook-id'], type: event.type, outcome },
            'lifecycle webhook accepted',
          );
          if (outcome === 'recorded') opts.onJob();
          res
            .status(outcome === 'recorded' ? 202 : 200)
            .json({ ok: true, duplicate: outcome === 'duplicate' });
        }, next);
    },
  );
  return router;
}
