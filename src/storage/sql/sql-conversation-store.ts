import type { ConversationRecord, ConversationStore } from '../../core/conversation-store';
import type { StorageContext } from './storage-context';

/** Conversation state; the visitor's id is encrypted under the visitor's key, refs are blind indexes. */
export class SqlConversationStore implements ConversationStore {
  constructor(private readonly ctx: StorageContext) {}

  async get(teamId: string, conversationId: string): Promise<ConversationRecord | undefined> {
    const ref = this.ctx.conversationRef(teamId, conversationId);
    const [row] = await this.ctx.db.all<{
      body: Buffer;
      status: ConversationRecord['status'];
      started_at: number;
    }>(
      'SELECT body, status, started_at FROM conversations WHERE team_id = ? AND conversation_ref = ? AND confirmed_at >= ?',
      [teamId, ref, this.ctx.freshSince()],
    );
    if (!row) return undefined;
    const body = await this.ctx.open<{ visitorId: string }>(
      { table: 'conversations', teamId, recordId: ref, field: 'body' },
      row.body,
    );
    if (!body) return undefined;
    return {
      teamId,
      conversationId,
      visitorId: body.visitorId,
      status: row.status,
      startedAt: row.started_at,
    };
  }

  async put(record: ConversationRecord): Promise<void> {
    const { teamId } = record;
    const ref = this.ctx.conversationRef(teamId, record.conversationId);
    const visitorRef = this.ctx.subjectRef(teamId, { kind: 'visitor', id: record.visitorId });
    if (await this.ctx.tombstones.isErased(teamId, visitorRef)) return;
    const key = await this.ctx.keyOf(teamId, visitorRef);
    const body = this.ctx.seal(
      { table: 'conversations', teamId, recordId: ref, field: 'body' },
      { visitorId: record.visitorId, conversationId: record.conversationId },
      key,
    );
    const now = this.ctx.now();
    this.ctx.rememberOwner(teamId, ref, visitorRef);
    await this.ctx.db.write((tx) =>
      tx.run(
        `INSERT INTO conversations (team_id, conversation_ref, visitor_ref, body, status, started_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (team_id, conversation_ref) DO UPDATE SET status = excluded.status, body = excluded.body, confirmed_at = excluded.confirmed_at`,
        [teamId, ref, visitorRef, body, record.status, record.startedAt, now],
      ),
    );
  }
}
