import type { Subject } from '../core/conversation-store';
import type { StorageContext } from '../storage/sql/storage-context';

/**
 * Right of access: everything the app holds about one person, decrypted. Reads by the person's
 * blind ref, so it finds what was stored under their key: their messages, their profile, and for
 * a visitor their conversations and the bot's replies in them.
 */
export async function exportSubject(
  ctx: StorageContext,
  teamId: string,
  subject: Subject,
): Promise<Record<string, unknown>> {
  const ref = ctx.subjectRef(teamId, subject);
  const messages = [];
  const rows = await ctx.db.all<{
    event_id: string;
    sender_kind: string;
    subject_ref: string;
    conversation_ref: string;
    body: Buffer;
    created_at: number;
    confirmed_at: number;
  }>(
    // A visitor's conversations whole (agent and bot messages too); an agent's own messages.
    subject.kind === 'visitor'
      ? 'SELECT event_id, sender_kind, subject_ref, conversation_ref, body, created_at, confirmed_at FROM messages WHERE team_id = ? AND (subject_ref = ? OR conversation_ref IN (SELECT conversation_ref FROM conversations WHERE team_id = ? AND visitor_ref = ?)) AND confirmed_at >= ? ORDER BY created_at, event_id'
      : 'SELECT event_id, sender_kind, subject_ref, conversation_ref, body, created_at, confirmed_at FROM messages WHERE team_id = ? AND subject_ref = ? AND confirmed_at >= ? ORDER BY created_at, event_id',
    subject.kind === 'visitor'
      ? [teamId, ref, teamId, ref, ctx.freshSince()]
      : [teamId, ref, ctx.freshSince()],
  );
  for (const row of rows) {
    const body = await ctx.open<{ text: string; ts: string; senderId: string; conversationId?: string }>(
      { table: 'messages', teamId, recordId: row.event_id, field: 'body' },
      row.body,
      { subjectRef: row.subject_ref, conversationRef: row.conversation_ref },
    );
    if (body) {
      messages.push({
        event_id: row.event_id,
        conversation_id: body.conversationId ?? null,
        sender: { kind: row.sender_kind, id: body.senderId },
        text: body.text,
        ts: body.ts,
        stored_at: new Date(row.created_at).toISOString(),
        confirmed_at: new Date(row.confirmed_at).toISOString(),
      });
    }
  }
  const conversations = [];
  if (subject.kind === 'visitor') {
    const convs = await ctx.db.all<{
      conversation_ref: string;
      body: Buffer;
      status: string;
      started_at: number;
    }>(
      'SELECT conversation_ref, body, status, started_at FROM conversations WHERE team_id = ? AND visitor_ref = ? AND confirmed_at >= ?',
      [teamId, ref, ctx.freshSince()],
    );
    for (const c of convs) {
      const body = await ctx.open<{ visitorId: string }>(
        { table: 'conversations', teamId, recordId: c.conversation_ref, field: 'body' },
        c.body,
        { subjectRef: ref },
      );
      if (body) conversations.push({ status: c.status, started_at: c.started_at });
    }
  }
  const [profileRow] = await ctx.db.all<{ body: Buffer; confirmed_at: number }>(
    'SELECT body, confirmed_at FROM profiles WHERE team_id = ? AND subject_ref = ? AND confirmed_at >= ?',
    [teamId, ref, ctx.freshSince()],
  );
  const profile = profileRow
    ? await ctx.open<Record<string, string>>(
        { table: 'profiles', teamId, recordId: ref, field: 'body' },
        profileRow.body,
        { subjectRef: ref },
      )
    : undefined;
  // Waiting to be handled, or dead-lettered (a handled event keeps only its id). A message stored
  // once has no inbox payload: its text is among `messages` above, and its inbox row is filed
  // only by that message.
  const [pending] = await ctx.db.all<{ n: number }>(
    'SELECT COUNT(*) AS n FROM inbox i WHERE i.team_id = ? AND i.handled_at IS NULL AND (i.subject_ref = ? OR EXISTS (SELECT 1 FROM messages m WHERE m.event_id = i.event_id AND m.team_id = ? AND m.subject_ref = ?))',
    [teamId, ref, teamId, ref],
  );
  return {
    kind: 'clickdesk-bot-subject-export',
    exported_at: new Date(ctx.now()).toISOString(),
    team_id: teamId,
    subject: { kind: subject.kind, id: subject.id },
    erased: await ctx.tombstones.isErased(teamId, ref),
    profile: profile ?? null,
    conversations,
    messages,
    unhandled_events: Number(pending?.n ?? 0),
  };
}
