import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { resetTeam } from './reset-team';
import type { Simulator } from './simulator';

const target = z.enum(['all', 'oldest', 'newest']).default('all');
const lifecycleTypes = z.enum([
  'data_deletion.requested',
  'app.deauthorized',
  'account.closed',
  'app.uninstalled',
  'api_access.terminated',
]);

/**
 * Fault controls, counters and the reset over HTTP (docs/clickdesk-contract.md §6), for people
 * poking the sandbox with curl and for tests in other processes. Tests in-process call the
 * simulator directly.
 */
export function controlRouter(sim: Simulator): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  const route = <S extends z.ZodType>(path: string, schema: S, run: (body: z.infer<S>) => unknown): void => {
    router.post(path, (req: Request, res: Response) => {
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success) {
        res
          .status(400)
          .json({ ok: false, error: 'invalid_arguments', message: z.prettifyError(parsed.error) });
        return;
      }
      Promise.resolve(run(parsed.data)).then(
        (result) => res.json({ ok: true, result }),
        (err: unknown) =>
          res.status(400).json({ ok: false, error: 'failed', message: (err as Error).message }),
      );
    });
  };

  router.get('/counters', (_req, res) => {
    res.json({
      ok: true,
      counters: sim.counters,
      open_links: sim.hub.openLinks,
      unsettled: sim.hub.unsettled,
    });
  });
  route('/reset-counters', z.object({}), () => sim.resetCounters());
  route(
    '/faults/disconnect',
    z.object({
      reason: z.enum(['warning', 'refresh_requested', 'link_disabled', 'too_many_websockets']),
      target,
    }),
    (b) => sim.hub.disconnect(b.reason, b.target),
  );
  route('/faults/close', z.object({ target }), (b) => sim.hub.closeAbruptly(b.target));
  route(
    '/faults/pongs',
    z.object({ withhold: z.boolean() }),
    (b) => (sim.hub.faults.withholdPongs = b.withhold),
  );
  route(
    '/faults/acks',
    z.object({ withhold: z.boolean() }),
    (b) => (sim.hub.faults.withholdAcks = b.withhold),
  );
  route('/faults/stall', z.object({ on: z.boolean() }), (b) => sim.hub.setStall(b.on));
  route(
    '/faults/duplicate',
    z.object({ count: z.number().int().min(1).max(10_000) }),
    (b) => (sim.hub.faults.duplicateNext += b.count),
  );
  route('/faults/raw', z.object({ frames: z.array(z.string()).min(1).max(10_000), target }), (b) =>
    sim.hub.sendRaw(b.frames, b.target),
  );
  route(
    '/limits',
    z.object({ method: z.string().min(1), limit: z.number().int().min(1) }),
    (b) => (sim.options.limits[b.method] = b.limit),
  );
  route(
    '/events',
    z.object({ event: z.looseObject({ type: z.string() }), team_id: z.string().optional() }),
    (b) => sim.publish(b.event, b.team_id),
  );
  route(
    '/webhooks',
    z.looseObject({ type: lifecycleTypes, url: z.url().optional() }),
    async ({ type, url, ...fields }) => {
      const report = await sim.webhooks.send(type, fields, url);
      // The team uninstalled the app: the visitor page says so until POST /sandbox/reset.
      if (report.delivered && type === 'app.uninstalled' && typeof fields.team_id === 'string') {
        sim.installs.markUninstalled(fields.team_id);
        sim.oauth.revoke(fields.team_id); // its tokens stop working too (§4)
      }
      return report;
    },
  );
  // Erases the sandbox team through the app's normal erasure path and installs the app again.
  route('/reset', z.object({ team_id: z.string().min(1).optional() }), (b) => resetTeam(sim, b.team_id));
  // Installation (§4): expire every access token now, uninstall a team, add a team to install into.
  route('/faults/expire-tokens', z.object({}), () => sim.oauth.expireAll());
  route('/installations/revoke', z.object({ team_id: z.string().min(1) }), (b) => sim.uninstall(b.team_id));
  route('/teams', z.object({ name: z.string().trim().min(1).max(80) }), (b) => {
    const team = sim.addTeam(b.name);
    return {
      team_id: team.id,
      visitor_page: `${sim.url}/visitor/?team=${team.id}`,
      install_page: sim.options.appUrl ? `${sim.options.appUrl}/install?team=${team.id}` : undefined,
    };
  });
  return router;
}
