import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import type { Simulator } from './simulator';

/**
 * The visitor's side of the chat widget: a page where a person plays a website visitor,
 * and the small JSON + Server-Sent Events API it uses.
 */
export function visitorRouter(sim: Simulator): express.Router {
  const router = express.Router();
  const tokens = new Map<string, Buffer>();
  router.use(express.json({ limit: '16kb' }));
  // The page itself, with links to the app's privacy policy and user agreement (Terms 7).
  const template = readFileSync(path.join(__dirname, 'public', 'index.html'), 'utf8');
  router.get(['/', '/index.html'], (_req, res) => {
    res.set(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
    );
    res.type('html').send(template.replace(/\{\{APP_URL\}\}/g, escapeAttr(sim.options.appUrl)));
  });
  router.use(
    express.static(path.join(__dirname, 'public'), {
      setHeaders: (res) => {
        res.set(
          'Content-Security-Policy',
          "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
        );
        res.set('X-Content-Type-Options', 'nosniff');
      },
    }),
  );

  const authorised = (req: Request, res: Response): string | undefined => {
    const id = String(req.params.id);
    const expected = tokens.get(id);
    const query = typeof req.query.token === 'string' ? req.query.token : '';
    const given = Buffer.from(req.get('x-visitor-token') ?? query);
    if (!expected || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      res.status(404).json({ ok: false, error: 'conversation_not_found' });
      return undefined;
    }
    if (!sim.world.conversations.has(id)) {
      res.status(410).json({ ok: false, error: 'conversation_deleted' });
      return undefined;
    }
    return id;
  };

  // Whether the app is installed in the team the page chats with, and how to reinstall it.
  router.get('/api/status', (req, res) => {
    const team = (typeof req.query.team === 'string' && sim.teamById(req.query.team)) || sim.team;
    const since = sim.installs.uninstalledSince(team.id);
    res.set('cache-control', 'no-store').json({
      ok: true,
      team: { id: team.id, name: team.name },
      installed: since === undefined,
      uninstalled_at: since === undefined ? null : new Date(since).toISOString(),
      resets: sim.installs.resets,
      reinstall: { curl: `curl -s -XPOST ${sim.url}/sandbox/reset -H 'content-type: application/json' -d '{}'`, npm: 'npm start -- --reset' },
    });
  });

  router.post('/api/chats', (req, res) => {
    const body = (req.body ?? {}) as { name?: unknown; email?: unknown; team_id?: unknown };
    const teamId = typeof body.team_id === 'string' && body.team_id ? body.team_id : sim.team.id;
    if (!sim.teamById(teamId)) {
      res.status(404).json({ ok: false, error: 'team_not_found' });
      return;
    }
    const name =
      typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 100) : 'Website visitor';
    const email = typeof body.email === 'string' ? body.email.slice(0, 200) : '';
    const chat = sim.startVisitorChat(name, email, req.get('referer') ?? '', teamId);
    const token = randomBytes(16).toString('hex');
    tokens.set(chat.conversationId, Buffer.from(token));
    res
      .status(201)
      .json({ ok: true, conversation_id: chat.conversationId, visitor_id: chat.visitorId, token });
  });

  // A page reloaded with a chat in sessionStorage asks whether it still exists before resuming it.
  router.get('/api/chats/:id', (req, res) => {
    const id = authorised(req, res);
    if (!id) return;
    res.json({ ok: true, conversation_id: id });
  });

  router.post('/api/chats/:id/messages', (req, res) => {
    const id = authorised(req, res);
    if (!id) return;
    const text = (req.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text.trim() === '' || text.length > 4000) {
      res
        .status(400)
        .json({ ok: false, error: 'invalid_arguments', message: 'text must be 1 to 4000 characters' });
      return;
    }
    const m = sim.visitorSays(id, text.trim());
    res.status(201).json({ ok: true, message_id: m.id });
  });

  router.get('/api/chats/:id/stream', (req, res) => {
    const id = authorised(req, res);
    if (!id) return;
    res.set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    const send = (m: {
      id: string;
      sender: { kind: string; name: string };
      text: string;
      ts: string;
    }): void => {
      res.write(
        `id: ${m.id}\ndata: ${JSON.stringify({ id: m.id, sender: m.sender.kind, name: m.sender.name, text: m.text, ts: m.ts })}\n\n`,
      );
    };
    for (const m of sim.world.history(id)) send(m);
    const unsubscribe = sim.world.subscribe(id, send);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  return router;
}

function escapeAttr(value: string): string {
  return value.replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
}
