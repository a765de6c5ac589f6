import express, { type Request, type Response } from 'express';
import { bump } from './counters';
import { oauthAccess } from './oauth-access';
import type { Simulator } from './simulator';

type Team = Simulator['options']['teams'][number];
type Handler = (args: Record<string, unknown>, team: Team, res: Response) => void;

/** The Web API (docs/clickdesk-contract.md §1): auth, tier limits with headers, every method. */
export function webApiRouter(sim: Simulator): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: '256kb' }), express.urlencoded({ extended: false, limit: '256kb' }));

  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const fail = (res: Response, error: string, status = 200): void => {
    res.status(status).json({ ok: false, error });
  };

  const methods: Record<string, Handler> = {
    'auth.test': (_a, team, res) => {
      res.json({ ok: true, team_id: team.id, app_id: sim.options.appId, bot_id: team.botId });
    },
    'team.info': (_a, team, res) => {
      res.json({ ok: true, team: { id: team.id, name: team.name, plan: 'sandbox' } });
    },
    'agents.list': (_a, team, res) => {
      res.json({ ok: true, agents: sim.world.agentsOf(team.id) });
    },
    'visitors.info': (a, team, res) => {
      const id = str(a.visitor_id);
      if (!id) return fail(res, 'invalid_arguments');
      const v = sim.world.visitors.get(id);
      if (!v || v.teamId !== team.id) return fail(res, 'visitor_not_found');
      res.json({
        ok: true,
        visitor: { id: v.id, name: v.name, email: v.email, country: v.country, first_seen: v.firstSeen },
      });
    },
    'conversations.info': (a, team, res) => {
      const id = str(a.conversation_id);
      if (!id) return fail(res, 'invalid_arguments');
      const c = sim.world.conversations.get(id);
      if (!c || c.teamId !== team.id) return fail(res, 'conversation_not_found');
      res.json({
        ok: true,
        conversation: {
          id: c.id,
          visitor_id: c.visitorId,
          status: c.status,
          started_at: c.startedAt,
          assigned_to: c.assignedTo,
        },
      });
    },
    'conversations.transfer': (a, team, res) => {
      const id = str(a.conversation_id);
      if (!id || a.to !== 'agents') return fail(res, 'invalid_arguments');
      const c = sim.world.conversations.get(id);
      if (!c || c.teamId !== team.id) return fail(res, 'conversation_not_found');
      if (sim.transferToAgents(c)) res.json({ ok: true });
      else res.json({ ok: true, already_transferred: true });
    },
    'conversations.history': (a, team, res) => {
      const id = str(a.conversation_id);
      const limit = a.limit === undefined ? 100 : Number(a.limit);
      const oldest = a.oldest === undefined ? 0 : Number(a.oldest);
      if (!id || !Number.isInteger(limit) || limit < 1 || limit > 200 || !Number.isFinite(oldest))
        return fail(res, 'invalid_arguments');
      const c = sim.world.conversations.get(id);
      if (!c || c.teamId !== team.id) return fail(res, 'conversation_not_found');
      const newestFirst = sim.world
        .history(c.id)
        .filter((m) => Number(m.ts) >= oldest)
        .reverse();
      res.json({
        ok: true,
        messages: newestFirst.slice(0, limit).map((m) => ({
          id: m.id,
          ts: m.ts,
          sender: { kind: m.sender.kind, id: m.sender.id },
          text: m.text,
          ...(m.clientMsgId === undefined ? {} : { client_msg_id: m.clientMsgId }),
        })),
        has_more: newestFirst.length > limit,
      });
    },
    'auth.revoke': (_a, team, res) => {
      sim.uninstall(team.id);
      res.json({ ok: true, revoked: true });
    },
    'chat.postMessage': (a, team, res) => {
      const id = str(a.conversation_id);
      const text = str(a.text);
      const clientMsgId = a.client_msg_id;
      if (!id || !text || text.length > 4000) return fail(res, 'invalid_arguments');
      if (
        clientMsgId !== undefined &&
        (typeof clientMsgId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(clientMsgId))
      )
        return fail(res, 'invalid_arguments');
      const c = sim.world.conversations.get(id);
      if (!c || c.teamId !== team.id) return fail(res, 'conversation_not_found');
      const m = sim.postBotMessage(team, c, text, clientMsgId);
      res.json({
        ok: true,
        message: { id: m.id, ts: m.ts, ...(clientMsgId === undefined ? {} : { client_msg_id: clientMsgId }) },
      });
    },
  };

  router.post('/:method', (req: Request, res: Response) => {
    const method = String(req.params.method);
    bump(sim.counters.apiCalls, method);
    const token =
      /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1] ??
      str((req.body as Record<string, unknown>)?.token);
    const args = (req.body ?? {}) as Record<string, unknown>;

    if (method === 'apps.connections.open') {
      if (token !== sim.options.appToken) return fail(res, 'invalid_auth');
      if (sim.hub.disabled) return fail(res, 'link_disabled');
      if (!sim.admit(method, `app:${sim.options.appId}`, res)) return;
      res.json({ ok: true, url: sim.hub.issueTicket(sim.rtmUrl) });
      return;
    }
    if (method === 'oauth.v2.access') {
      if (!sim.admit(method, `app:${sim.options.appId}`, res)) return;
      oauthAccess(sim, req, res);
      return;
    }
    const handler = methods[method];
    if (!handler) return fail(res, 'unknown_method', 404);
    // Installed teams' tokens (§4) first; the simulator's static per-team tokens keep working.
    const check = token ? sim.oauth.checkAccess(token) : ({ status: 'unknown' } as const);
    if (check.status === 'expired') return fail(res, 'token_expired');
    if (check.status === 'revoked') return fail(res, 'token_revoked');
    const team =
      check.status === 'ok'
        ? sim.teamById(check.teamId)
        : sim.options.teams.find((t) => t.botToken !== '' && t.botToken === token);
    if (!team) return fail(res, sim.revokedTokens.has(token ?? '') ? 'token_revoked' : 'invalid_auth');
    if (!sim.admit(method, `team:${team.id}`, res)) return;
    if (
      method === 'chat.postMessage' &&
      !sim.admitConversation(team.id, str(args.conversation_id) ?? '', res)
    )
      return;
    handler(args, team, res);
  });
  return router;
}
