import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Response } from 'express';
import { controlRouter } from './control-routes';
import { OAuthAuthority } from './oauth-authority';
import { oauthRouter } from './oauth-routes';
import { loopbackOnly } from './loopback-guard';
import { bump, emptyCounters, type SimulatorCounters } from './counters';
import { RtmHub } from './rtm-hub';
import { SlidingWindowLimiter, TokenBucketLimiter } from './sliding-window';
import { TeamInstalls } from './team-installs';
import { simulatorOptions, type SimulatorOptions } from './simulator-options';
import { visitorRouter } from './visitor-routes';
import { webApiRouter } from './web-api-routes';
import { WebhookSender } from './webhook-sender';
import { newId, SimWorld, type SimConversation, type SimMessage } from './world';

type Team = SimulatorOptions['teams'][number];

/** Errors as JSON, never a stack or a path on disk (a malformed JSON body gets `invalid_json`). */
const jsonErrors: ErrorRequestHandler = (err, _req, res, _next) => {
  const status = (err as { status?: unknown } | null)?.status;
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const error =
      type === 'entity.parse.failed'
        ? 'invalid_json'
        : type === 'entity.too.large'
          ? 'too_large'
          : 'bad_request';
    res.status(status).json({ ok: false, error });
    return;
  }
  res.status(500).json({ ok: false, error: 'internal_error' });
};

/**
 * A ClickDesk stand-in that speaks docs/clickdesk-contract.md: Web API, RTM, lifecycle
 * webhooks, a visitor chat page, fault controls and counters. Runs in-process (tests) or
 * beside the app (`npm start` in sandbox mode).
 */
export class Simulator {
  readonly options: SimulatorOptions;
  readonly world = new SimWorld();
  readonly hub: RtmHub;
  readonly webhooks: WebhookSender;
  readonly revokedTokens = new Set<string>();
  /** Installation (§4): consent, codes, expiring and rotating tokens. */
  readonly oauth: OAuthAuthority;
  /** Which teams have the app installed; `app.uninstalled` and `POST /sandbox/reset` change it. */
  readonly installs = new TeamInstalls();
  counters: SimulatorCounters = emptyCounters();
  private readonly limiter = new SlidingWindowLimiter();
  private readonly perConversation = new TokenBucketLimiter();
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private baseUrl = '';

  constructor(overrides: Partial<SimulatorOptions> = {}) {
    this.options = simulatorOptions(overrides);
    // With no secret given, the simulator makes its own: it is never handed a real one to sign with.
    if (this.options.webhook.secrets.length === 0)
      this.options.webhook.secrets = [`whsec_${randomBytes(32).toString('base64')}`];
    this.hub = new RtmHub(this.options, () => this.counters);
    this.webhooks = new WebhookSender(this.options.webhook, () => this.counters);
    this.oauth = new OAuthAuthority(this.options.oauth);
    const app = express();
    app.disable('x-powered-by');
    app.use('/api', webApiRouter(this));
    app.use('/oauth', oauthRouter(this));
    app.use('/visitor', visitorRouter(this));
    app.use('/sandbox', loopbackOnly(), controlRouter(this));
    app.get('/', (_req, res) => res.redirect('/visitor/'));
    app.use((_req, res) => {
      res.status(404).json({ ok: false, error: 'not_found' });
    });
    app.use(jsonErrors);
    // Explicit limits, as on the app's own servers: a slow client cannot hold a connection open.
    this.server = http.createServer(
      {
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 5_000,
        connectionsCheckingInterval: 1_000,
      },
      app,
    );
    this.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname === '/rtm') this.hub.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  /**
   * `publicUrl`: the base URL apps reach this simulator at when it differs from the listening
   * address (a container on 0.0.0.0 reached by its service name); RTM links are handed out on it.
   */
  async listen(port = 0, host = '127.0.0.1', publicUrl?: string): Promise<string> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    const address = this.server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = publicUrl?.replace(/\/+$/, '') ?? `http://${hostPart}:${address.port}`;
    return this.baseUrl;
  }

  /** The secrets this simulator signs lifecycle webhooks with: an app in sandbox mode trusts these. */
  get webhookSecrets(): readonly string[] {
    return [...this.options.webhook.secrets];
  }

  get url(): string {
    return this.baseUrl;
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  get rtmUrl(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/rtm`;
  }

  get team(): Team {
    const team = this.options.teams[0];
    if (!team) throw new Error('the simulator has no team');
    return team;
  }

  /** Credentials an app uses to talk to this simulator. */
  credentials(): { apiUrl: string; appToken: string; botToken: string } {
    return { apiUrl: this.apiUrl, appToken: this.options.appToken, botToken: this.team.botToken };
  }

  /** The consent page's URL (`{oauth_base}/oauth/v2/authorize`). */
  get authorizeUrl(): string {
    return `${this.baseUrl}/oauth/v2/authorize`;
  }

  /** A new team with agents of its own, ready to install the app; its visitor page is /visitor/?team=<id>. */
  addTeam(name: string): Team {
    const id = newId('T');
    const team: Team = { id, name, botToken: '', botId: newId('B') };
    this.options.teams.push(team);
    this.world.teamAgents.set(id, [
      { id: newId('U'), name: `${name} Agent`, email: `agent@${id.toLowerCase()}.example`, status: 'online' },
      { id: newId('U'), name: `${name} Lead`, email: `lead@${id.toLowerCase()}.example`, status: 'away' },
    ]);
    return team;
  }

  teamById(teamId: string): Team | undefined {
    return this.options.teams.find((t) => t.id === teamId);
  }

  /** Uninstall (from ClickDesk or by auth.revoke): the tokens stop working and app.uninstalled follows (§3). */
  uninstall(teamId: string): boolean {
    const had = this.oauth.revoke(teamId);
    if (had) this.installs.markUninstalled(teamId);
    if (had && this.options.webhook.url)
      this.webhooks.send('app.uninstalled', { team_id: teamId }).catch(() => undefined);
    return had;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.webhooks.stop();
    this.hub.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  resetCounters(): void {
    this.counters = emptyCounters();
    this.hub.resetTracking();
  }

  /** Applies the method's sliding-window limit, sets X-RateLimit-* headers, answers 429 if over. */
  admit(method: string, scope: string, res: Response): boolean {
    const limit = this.options.limits[method];
    if (limit === undefined) return true;
    const now = Date.now();
    const r = this.limiter.take(`${scope}:${method}`, limit, this.options.windowMs, now);
    res.set({
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(r.remaining),
      'X-RateLimit-Reset': String(Math.ceil(r.resetMs / 1000)),
    });
    if (r.allowed) return true;
    this.refuse(method, res, r.resetMs - now);
    return false;
  }

  /** chat.postMessage: at most `ratePerSec` per conversation, bursts of `burst`. */
  admitConversation(teamId: string, conversationId: string, res: Response): boolean {
    const { ratePerSec, burst } = this.options.postMessagePerConversation;
    const r = this.perConversation.take(`${teamId}:${conversationId}`, ratePerSec, burst, Date.now());
    if (r.allowed) return true;
    this.refuse('chat.postMessage', res, r.retryAfterMs);
    return false;
  }

  /** Publishes an RTM event for the app; returns its event_id. */
  publish(event: Record<string, unknown>, teamId = this.team.id): string {
    return this.hub.publish(teamId, event);
  }

  // ---- what visitors and agents do ----

  startVisitorChat(
    name: string,
    email = '',
    pageUrl = '',
    teamId = this.team.id,
  ): { visitorId: string; conversationId: string } {
    const team = this.teamById(teamId) ?? this.team;
    const visitor = this.world.createVisitor(team.id, name, email);
    const conversation = this.world.startConversation(team.id, visitor.id);
    this.publish(
      {
        type: 'conversation_started',
        conversation_id: conversation.id,
        visitor: { id: visitor.id, name: visitor.name },
        page_url: pageUrl,
      },
      team.id,
    );
    return { visitorId: visitor.id, conversationId: conversation.id };
  }

  visitorSays(conversationId: string, text: string): SimMessage {
    const c = this.mustConversation(conversationId);
    const visitor = this.world.visitors.get(c.visitorId);
    const m = this.world.addMessage(
      c.id,
      { kind: 'visitor', id: c.visitorId, name: visitor?.name ?? 'Visitor' },
      text,
    );
    this.publishMessage(c, m);
    return m;
  }

  postBotMessage(team: Team, c: SimConversation, text: string, clientMsgId?: string): SimMessage {
    const m = this.world.addMessage(c.id, { kind: 'bot', id: team.botId, name: 'Bot' }, text, clientMsgId);
    this.publishMessage(c, m); // the app sees its own messages echoed back
    return m;
  }

  /** Returns false when the conversation is already with the agents (nothing happens then). */
  transferToAgents(c: SimConversation): boolean {
    if (c.assignedTo !== null) return false;
    c.assignedTo = 'agents';
    this.world.addMessage(
      c.id,
      { kind: 'system', id: 'system', name: 'ClickDesk' },
      'Transferring you to a member of the team…',
    );
    if (this.options.agentJoinDelayMs < 0) return true;
    this.later(this.options.agentJoinDelayMs, () => {
      if (!this.world.conversations.has(c.id)) return;
      const agent = this.world.agentsOf(c.teamId)[0];
      if (!agent) return;
      c.assignedTo = agent.id;
      this.publish(
        { type: 'agent_joined', conversation_id: c.id, agent: { id: agent.id, name: agent.name } },
        c.teamId,
      );
      this.world.addMessage(
        c.id,
        { kind: 'system', id: 'system', name: 'ClickDesk' },
        `${agent.name} joined the chat`,
      );
      const greeting = this.world.addMessage(
        c.id,
        { kind: 'agent', id: agent.id, name: agent.name },
        `Hi, I'm ${agent.name}. How can I help?`,
      );
      this.publishMessage(c, greeting);
    });
    return true;
  }

  endConversation(conversationId: string, endedBy = 'visitor'): void {
    const c = this.mustConversation(conversationId);
    c.status = 'closed';
    this.publish({ type: 'conversation_ended', conversation_id: c.id, ended_by: endedBy }, c.teamId);
  }

  private publishMessage(c: SimConversation, m: SimMessage): void {
    this.publish(
      {
        type: 'message',
        conversation_id: c.id,
        sender: { kind: m.sender.kind, id: m.sender.id },
        text: m.text,
        ts: m.ts,
        // Contract §2: the bot's echo carries the client_msg_id it was posted with.
        ...(m.clientMsgId === undefined ? {} : { client_msg_id: m.clientMsgId }),
      },
      c.teamId,
    );
  }

  private mustConversation(id: string): SimConversation {
    const c = this.world.conversations.get(id);
    if (!c) throw new Error(`no conversation ${id}`);
    return c;
  }

  private refuse(method: string, res: Response, retryAfterMs: number): void {
    this.counters.ratelimited += 1;
    bump(this.counters.ratelimitedByMethod, method);
    res
      .status(429)
      .set('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
      .json({ ok: false, error: 'ratelimited' });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
