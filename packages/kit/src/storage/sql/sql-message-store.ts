import type { InboundEvent } from '../../core/chat-event';
import type { MessageStore, StoredMessage } from '../../core/conversation-store';
import type { DataKey } from '../crypto/key-ring';
import { InsertBatch, type InsertSpec } from './insert-batch';
import type { StorageContext } from './storage-context';

interface Body {
  text: string;
  ts: string;
  senderId: string;
  conversationId: string;
  /**
   * ClickDesk's timestamp of the event, kept when the message was stored with its inbox event
   * (which holds no copy of the text then, and is read back from here: `eventOf`).
   */
  eventTime?: number;
  /** The echo's `client_msg_id` (the effect it settles), kept with its event like `eventTime`. */
  clientMsgId?: string;
}

/** The columns of a stored message a replayed event is rebuilt from. */
export interface MessageRow {
  event_id: string;
  team_id: string;
  sender_kind: StoredMessage['sender']['kind'];
  body: Uint8Array;
  /** Whom the row is filed under and its conversation: whose destroyed key means it was erased. */
  subject_ref: string;
  conversation_ref: string;
}

/** A message the inbox stores in the event's own commit. */
export type MessageWithEvent = StoredMessage & { eventTime: number; clientMsgId?: string };

/** Chat history: each message's text, timestamp and sender id encrypted under its conversation's visitor's key. */
export class SqlMessageStore implements MessageStore {
  static readonly TABLE: InsertSpec = {
    table: 'messages',
    columns: [
      ['event_id', 'text'],
      ['team_id', 'text'],
      ['conversation_ref', 'text'],
      ['subject_ref', 'text'],
      ['sender_kind', 'text'],
      ['body', 'bytea'],
      ['created_at', 'bigint'],
      ['confirmed_at', 'bigint'],
    ],
    key: 'event_id',
  };

  /** Messages arriving together are inserted by one statement in their group commit. */
  private readonly inserts: InsertBatch;

  constructor(private readonly ctx: StorageContext) {
    this.inserts = new InsertBatch(ctx.db, { ...SqlMessageStore.TABLE, lane: 'default' });
  }

  /**
   * Stores a message under the key of the person it is about: the conversation's visitor when
   * the conversation is known (agent, bot and system messages included, so erasing the visitor
   * erases the whole conversation), else its subject's, else the team's. `subject_ref` stays the
   * author (or, for bot and system messages, the subject) so an agent's erasure finds theirs.
   */
  async append(message: StoredMessage): Promise<void> {
    const { teamId } = message;
    const subjectRef = message.subject ? this.ctx.subjectRef(teamId, message.subject) : '';
    // A message about a visitor is in that visitor's conversation; only an agent's message, or
    // one about nobody yet, needs the conversation looked up.
    const ownerRef =
      message.subject?.kind === 'visitor'
        ? subjectRef
        : ((await this.ctx.conversationOwnerRef(teamId, message.conversationId)) ?? subjectRef);
    if (await this.ctx.tombstones.isErased(teamId, subjectRef)) return;
    if (ownerRef !== subjectRef && (await this.ctx.tombstones.isErased(teamId, ownerRef))) return;
    const key = await this.ctx.keyOf(teamId, ownerRef || undefined);
    await this.inserts.insert(message.eventId, this.rowOf(message, subjectRef, key));
  }

  /**
   * The message's row in `TABLE`'s column order, its body sealed under `key`: the caller chose
   * the key and checked the tombstones as `append` does.
   */
  rowOf(message: StoredMessage | MessageWithEvent, subjectRef: string, key: DataKey): unknown[] {
    const { teamId } = message;
    const body: Body = {
      text: message.text,
      ts: message.ts,
      senderId: message.sender.id,
      conversationId: message.conversationId,
      ...('eventTime' in message && { eventTime: message.eventTime }),
      ...('clientMsgId' in message &&
        message.clientMsgId !== undefined && { clientMsgId: message.clientMsgId }),
    };
    const sealed = this.ctx.seal(
      { table: 'messages', teamId, recordId: message.eventId, field: 'body' },
      body,
      key,
    );
    const now = this.ctx.now();
    return [
      message.eventId,
      teamId,
      this.ctx.conversationRef(teamId, message.conversationId),
      subjectRef,
      message.sender.kind,
      sealed,
      now,
      now,
    ];
  }

  /**
   * The `message` event a stored message came with, rebuilt from its row; undefined when its key
   * was destroyed (erased) or it was not stored with its event.
   */
  async eventOf(row: MessageRow): Promise<InboundEvent | undefined> {
    const body = await this.ctx.open<Body>(
      { table: 'messages', teamId: row.team_id, recordId: row.event_id, field: 'body' },
      row.body,
      { subjectRef: row.subject_ref, conversationRef: row.conversation_ref },
    );
    if (!body || body.eventTime === undefined) return undefined;
    return {
      eventId: row.event_id,
      teamId: row.team_id,
      eventTime: body.eventTime,
      event: {
        type: 'message',
        conversationId: body.conversationId,
        sender: { kind: row.sender_kind, id: body.senderId },
        text: body.text,
        ts: body.ts,
        ...(body.clientMsgId !== undefined && { clientMsgId: body.clientMsgId }),
      },
    };
  }

  /** The conversation's messages, oldest first; those whose subject was erased are gone. */
  async listConversation(teamId: string, conversationId: string): Promise<StoredMessage[]> {
    const rows = await this.ctx.db.all<{
      event_id: string;
      sender_kind: StoredMessage['sender']['kind'];
      subject_ref: string;
      body: Buffer;
    }>(
      'SELECT event_id, sender_kind, subject_ref, body FROM messages WHERE team_id = ? AND conversation_ref = ? AND confirmed_at >= ? ORDER BY created_at, event_id',
      [teamId, this.ctx.conversationRef(teamId, conversationId), this.ctx.freshSince()],
    );
    const out: StoredMessage[] = [];
    const conversationRef = this.ctx.conversationRef(teamId, conversationId);
    for (const row of rows) {
      const body = await this.ctx.open<Body>(
        { table: 'messages', teamId, recordId: row.event_id, field: 'body' },
        row.body,
        { subjectRef: row.subject_ref, conversationRef },
      );
      if (!body) continue;
      out.push({
        teamId,
        conversationId,
        eventId: row.event_id,
        subject: undefined,
        sender: { kind: row.sender_kind, id: body.senderId },
        text: body.text,
        ts: body.ts,
      });
    }
    return out;
  }
}
