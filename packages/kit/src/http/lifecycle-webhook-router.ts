import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import { describeError } from '../errors';
import type { IgnoredReason } from '../lifecycle/app-identity';
import { lifecycleEventSchema, scopeOf, type LifecycleEvent } from '../lifecycle/lifecycle-event';
import type { LifecycleJobs } from '../lifecycle/lifecycle-jobs';

/** Longest `webhook-id` taken; ClickDesk's are short (`msg_<uuid>`), longer ones are refused unlogged. */
export const MAX_WEBHOOK_ID_LENGTH = 256;

/**
 * Who the app is (docs/clickdesk-contract.md §4, last paragraph): a webhook for another app, or for a
 * team the app never held, is answered but changes nothing. Throws when it cannot tell yet
 * (auth.test unreachable): the webhook is then answered 503 and ClickDesk retries it.
 */
export interface WebhookAddressee {
  check(event: LifecycleEvent): Promise<{ addressed: true } | { addressed: false; reason: IgnoredReason }>;
}

export interface LifecycleWebhookOptions {
  /** whsec_… secrets; two during a rotation, either one verifies. */
  secrets: readonly string[];
  jobs: LifecycleJobs;
  /** The blind ref of a subject (the raw id is never stored). */
  refOf: (teamId: string, kind: 'visitor' | 'agent', id: string) => string;
  /** A job was recorded: run it soon. */
  onJob: () => void;
  /** Decides whether a verified webhook is for this app; without it every verified webhook is. */
  addressee?: WebhookAddressee;
  /** A verified webhook was ignored as not addressed to this app (counted). */
  onIgnored?: (reason: IgnoredReason) => void;
  logger: Logger;
  maxBodyBytes?: number;
}

/**
 * POST /webhooks/clickdesk (docs/clickdesk-contract.md §4; Terms 6.3, 6.4, 12.4). The Standard
 * Webhooks signature is checked over the raw body, timestamps more than 5 minutes off either way
 * are refused, and the job is recorded with its webhook-id in one transaction before the 2xx, so
 * a retry (same id) gets 2xx and no second job. Bad signature: 401; malformed: 400; too big: 413;
 * a webhook-id over 256 characters: 400. A verified webhook for another app or a team the app does
 * not hold: 200 `{"ignored": …}`, no job, no receipt (Terms 6.4, 12.4 bind only the addressee).
 * Neither the body nor an oversized id is ever echoed or logged.
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
      if (headers['webhook-id'].length > MAX_WEBHOOK_ID_LENGTH) {
        opts.logger.warn(
          { webhookIdLength: headers['webhook-id'].length },
          'lifecycle webhook refused: id too long',
        );
        res.status(400).json({
          ok: false,
          error: 'malformed_headers',
          message: `webhook-id is longer than ${MAX_WEBHOOK_ID_LENGTH} characters`,
        });
        return;
      }
      let reason = 'no webhook secret is configured (WEBHOOK_SECRETS)';
      const verified = verifiers.some((v) => {
        try {
          // jsonParse off: the library would quote a non-JSON body in its error (echoed, logged).
          v.verify(body, headers, { jsonParse: false });
          return true;
        } catch (err) {
          reason = err instanceof WebhookVerificationError ? err.message : 'signature check failed';
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
      if (!/^\d{1,12}$/.test(headers['webhook-timestamp'])) {
        // Signed, but the library read the timestamp with parseInt: "1700000000.999xyz" passed as valid.
        opts.logger.warn(
          { webhookId: headers['webhook-id'] || undefined },
          'lifecycle webhook refused: bad timestamp',
        );
        res.status(400).json({
          ok: false,
          error: 'malformed_headers',
          message: 'webhook-timestamp must be whole seconds since the epoch (digits only)',
        });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        opts.logger.warn({ webhookId: headers['webhook-id'] }, 'lifecycle webhook refused: body is not JSON');
        res.status(400).json({ ok: false, error: 'malformed_body', message: 'the body is not JSON' });
        return;
      }
      const parsed = lifecycleEventSchema.safeParse(json);
      if (!parsed.success) {
        res.status(400).json({ ok: false, error: 'malformed_body', message: z.prettifyError(parsed.error) });
        return;
      }
      const event = parsed.data;
      addressed(event)
        .then(
          (verdict) => {
            if (!verdict.addressed) {
              opts.logger.warn(
                {
                  webhookId: headers['webhook-id'],
                  type: event.type,
                  reason: verdict.reason,
                  wouldErase: scopeKind(event),
                },
                'lifecycle webhook ignored: not addressed to this app',
              );
              opts.onIgnored?.(verdict.reason);
              res.status(200).json({ ok: true, ignored: verdict.reason });
              return;
            }
            return record(event, headers['webhook-id'], res);
          },
          (err: unknown) => {
            opts.logger.warn(
              { webhookId: headers['webhook-id'], type: event.type, err: describeError(err) },
              'lifecycle webhook deferred: cannot tell yet whether it is addressed to this app',
            );
            res.status(503).json({
              ok: false,
              error: 'addressee_unknown',
              message: 'the app cannot confirm its own identity yet (auth.test); retry later',
            });
          },
        )
        .catch(next);
    },
  );

  const addressed = (event: LifecycleEvent) =>
    opts.addressee ? opts.addressee.check(event) : Promise.resolve({ addressed: true } as const);

  const record = async (event: LifecycleEvent, webhookId: string, res: Response): Promise<void> => {
    const requestedAt =
      'requested_at' in event && event.requested_at !== undefined
        ? Number(new Date(event.requested_at))
        : undefined;
    const outcome = await opts.jobs.record(
      webhookId,
      event.type,
      scopeOf(event, opts.refOf),
      Number.isFinite(requestedAt) ? requestedAt : undefined,
    );
    opts.logger.info({ webhookId, type: event.type, outcome }, 'lifecycle webhook accepted');
    if (outcome === 'recorded') opts.onJob();
    res.status(outcome === 'recorded' ? 202 : 200).json({ ok: true, duplicate: outcome === 'duplicate' });
  };
  return router;
}

/** What an ignored webhook would have erased, for the log (no ids of people). */
function scopeKind(event: LifecycleEvent): 'one_person' | 'team' | 'everything' {
  if (event.type === 'api_access.terminated') return 'everything';
  return event.type === 'app.uninstalled' ? 'team' : 'one_person';
}
