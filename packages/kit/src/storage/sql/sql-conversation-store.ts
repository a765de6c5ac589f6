import type { ConversationRecord, ConversationStore } from '../../core/conversation-store';
import { StorageContext } from './storage-context';
import { writeStatement } from './sql-database';

interface Row {
  conversation_ref: string;
  visitor_ref: string;
  body: Buffer;
  status: ConversationRecord['status'];
  started_at: number;
  /** Read on SQLite only (it bounds how long the state may stay in memory). */
  confirmed_at?: number;
}

interface Waiter {
  resolve: (row: Row | undefined) => void;
  reject: (err: unknown) => void;
}

/** Conversation state; the visitor's id is encrypted under the visitor's key, refs are blind indexes. */
export class SqlConversationStore implements ConversationStore {
  constructor(private readonly ctx: StorageContext) {}

  async get(teamId: string, conversationId: string): Promise<ConversationRecord | undefined> {
    const ref = this.ctx.conversationRef(teamId, conversationId);
    const states = this.ctx.conversationStates;
    const cached = states?.get(teamId, ref, this.ctx.now());
    if (cached) return cached;
    const ticket = states?.ticket() ?? 0;
    const row =
      this.ctx.db.dialect === 'postgres'
        ? await this.gathered(teamId, ref)
        : (
            await this.ctx.db.all<Row>(
              'SELECT conversation_ref, visitor_ref, body, status, started_at, confirmed_at FROM conversations WHERE team_id = ? AND conversation_ref = ? AND confirmed_at >= ?',
              [teamId, ref, this.ctx.freshSince()],
            )
          )[0];
    if (!row) return undefined;
    const body = await this.ctx.open<{ visitorId: string }>(
      { table: 'conversations', teamId, recordId: ref, field: 'body' },
      row.body,
      { subjectRef: row.visitor_ref },
    );
    if (!body) return undefined;
    const record: ConversationRecord = {
      teamId,
      conversationId,
      visitorId: body.visitorId,
      status: row.status,
      startedAt: row.started_at,
    };
    if (states && row.confirmed_at !== undefined)
      states.remember(
        ticket,
        ref,
        record,
        Number(row.confirmed_at) + StorageContext.MAX_AGE_MS,
        this.ctx.now(),
      );
    return record;
  }

  /**
   * PostgreSQL: the look-ups asked for in one turn of the event loop go as one query per team
   * (a round trip per group of events, not per event); each caller still reads the row as
   * committed when the query runs.
   */
  private gathered(teamId: string, ref: string): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      let team = this.lookups.get(teamId);
      if (!team) {
        team = new Map<string, Waiter[]>();
        this.lookups.set(teamId, team);
      }
      const waiters = team.get(ref) ?? [];
      waiters.push({ resolve, reject });
      team.set(ref, waiters);
      if (!this.lookUpScheduled) {
        this.lookUpScheduled = true;
        setImmediate(() => this.lookUp());
      }
    });
  }

  private lookUp(): void {
    this.lookUpScheduled = false;
    const teams = [...this.lookups];
    this.lookups.clear();
    for (const [teamId, refs] of teams) {
      void this.ctx.db
        .all<Row>(
          'SELECT conversation_ref, visitor_ref, body, status, started_at FROM conversations WHERE team_id = ? AND conversation_ref = ANY(?::text[]) AND confirmed_at >= ?',
          [teamId, [...refs.keys()], this.ctx.freshSince()],
        )
        .then(
          (rows) => {
            const found = new Map(rows.map((r) => [r.conversation_ref, r]));
            for (const [ref, waiters] of refs) for (const w of waiters) w.resolve(found.get(ref));
          },
          (err: unknown) => {
            for (const waiters of refs.values()) for (const w of waiters) w.reject(err);
          },
        );
    }
  }

  private lookUpScheduled = false;
  /** team → conversation ref → callers waiting for that row. */
  private readonly lookups = new Map<string, Map<string, Waiter[]>>();

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
    const ticket = this.ctx.conversationStates?.forget(teamId, ref);
    await writeStatement(
      this.ctx.db,
      'default',
      `INSERT INTO conversations (team_id, conversation_ref, visitor_ref, body, status, started_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (team_id, conversation_ref) DO UPDATE SET status = excluded.status, body = excluded.body, confirmed_at = excluded.confirmed_at`,
      [teamId, ref, visitorRef, body, record.status, record.startedAt, now],
    );
    if (ticket !== undefined)
      this.ctx.conversationStates!.remember(ticket, ref, { ...record }, now + StorageContext.MAX_AGE_MS, now);
  }
}
