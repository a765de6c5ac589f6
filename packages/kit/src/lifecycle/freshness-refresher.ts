import type { Logger } from 'pino';
import type { ClickDeskWebApi } from '../clickdesk/web-api-client';
import { describeError, isCodedError } from '../errors';
import type { StorageContext } from '../storage/sql/storage-context';
import { AdaptiveBatch } from './adaptive-batch';
import type { LifecycleJobs } from './lifecycle-jobs';

export interface FreshnessOptions {
  ctx: StorageContext;
  api: Pick<ClickDeskWebApi, 'call'>;
  jobs: LifecycleJobs;
  logger: Logger;
  /** Records not confirmed for this long are re-confirmed (well before the 24 h limit). */
  refreshAfterMs?: number;
  /** Messages are kept at most this long, confirmed or not. */
  retentionMs: number;
  batch?: number;
  /** Rows deleted per transaction when dropping or expiring, at most (default 2,000). */
  deleteStep?: number;
  /** SQLite: each such transaction is sized to hold the event loop about this long (default 5 ms). */
  deleteStepMs?: number;
  onDropped?: (reason: 'deleted_upstream' | 'not_confirmed', count: number) => void;
  /** A job was recorded (a person deleted upstream): run it. */
  onJob?: () => void;
}

const HOUR = 60 * 60 * 1000;
/** Each table's primary key, to delete a bounded step of rows by it. */
const ROW_KEY = {
  messages: 'event_id',
  profiles: 'team_id, subject_ref',
  conversations: 'team_id, conversation_ref',
  inbox: 'event_id',
} as const;

/**
 * Terms 6.1 and 6.5: every cached record is re-confirmed with ClickDesk within 24 hours or
 * dropped. Visitor profiles are re-read with visitors.info and conversations (with their
 * messages) with conversations.info, at background priority so bot replies go first. What
 * ClickDesk no longer has is erased; what could not be re-confirmed in time is dropped (fail
 * closed); messages past the retention limit are deleted whatever their freshness.
 */
export class FreshnessRefresher {
  constructor(private readonly opts: FreshnessOptions) {}

  async runOnce(): Promise<{ refreshed: number; deletedUpstream: number; dropped: number; expired: number }> {
    const { ctx } = this.opts;
    const now = ctx.now();
    const staleBefore = now - (this.opts.refreshAfterMs ?? 12 * HOUR);
    const batch = this.opts.batch ?? 200;
    let refreshed = 0;
    let deletedUpstream = 0;

    const profiles = await ctx.db.all<{ team_id: string; subject_ref: string; body: Buffer }>(
      "SELECT team_id, subject_ref, body FROM profiles WHERE kind = 'visitor' AND confirmed_at < ? AND confirmed_at >= ? ORDER BY confirmed_at LIMIT ?",
      [staleBefore, ctx.freshSince(), batch],
    );
    for (const p of profiles) {
      const fields = await this.readable(() =>
        ctx.open<Record<string, string>>(
          { table: 'profiles', teamId: p.team_id, recordId: p.subject_ref, field: 'body' },
          p.body,
          { subjectRef: p.subject_ref },
        ),
      );
      if (!fields?.id) continue;
      const outcome = await this.confirm('visitors.info', { visitor_id: fields.id }, p.team_id);
      if (outcome === 'gone') {
        await this.opts.jobs.record(`upstream:${p.team_id}:${p.subject_ref}:${now}`, 'deleted_upstream', {
          kind: 'subject',
          teamId: p.team_id,
          subjectKind: 'visitor',
          subjectRef: p.subject_ref,
        });
        deletedUpstream += 1;
      } else if (outcome === 'ok') {
        await ctx.db.write((tx) =>
          tx.run('UPDATE profiles SET confirmed_at = ? WHERE team_id = ? AND subject_ref = ?', [
            now,
            p.team_id,
            p.subject_ref,
          ]),
        );
        refreshed += 1;
      }
    }

    const conversations = await ctx.db.all<{
      team_id: string;
      conversation_ref: string;
      visitor_ref: string;
      body: Buffer;
    }>(
      'SELECT team_id, conversation_ref, visitor_ref, body FROM conversations WHERE confirmed_at < ? AND confirmed_at >= ? ORDER BY confirmed_at LIMIT ?',
      [staleBefore, ctx.freshSince(), batch],
    );
    for (const c of conversations) {
      const body = await this.readable(() =>
        ctx.open<{ conversationId?: string }>(
          { table: 'conversations', teamId: c.team_id, recordId: c.conversation_ref, field: 'body' },
          c.body,
          { subjectRef: c.visitor_ref },
        ),
      );
      if (!body?.conversationId) continue;
      const outcome = await this.confirm(
        'conversations.info',
        { conversation_id: body.conversationId },
        c.team_id,
      );
      if (outcome === 'ok' || outcome === 'gone') {
        await ctx.db.transaction(async (tx) => {
          if (outcome === 'ok') {
            await tx.run(
              'UPDATE conversations SET confirmed_at = ? WHERE team_id = ? AND conversation_ref = ?',
              [now, c.team_id, c.conversation_ref],
            );
            await tx.run('UPDATE messages SET confirmed_at = ? WHERE team_id = ? AND conversation_ref = ?', [
              now,
              c.team_id,
              c.conversation_ref,
            ]);
          } else {
            ctx.conversationStates?.forget(c.team_id, c.conversation_ref);
            const n = await tx.run('DELETE FROM messages WHERE team_id = ? AND conversation_ref = ?', [
              c.team_id,
              c.conversation_ref,
            ]);
            await tx.run('DELETE FROM conversations WHERE team_id = ? AND conversation_ref = ?', [
              c.team_id,
              c.conversation_ref,
            ]);
            this.opts.onDropped?.('deleted_upstream', n + 1);
          }
        });
        if (outcome === 'ok') refreshed += 1;
        else deletedUpstream += 1;
      }
    }
    if (deletedUpstream > 0) this.opts.onJob?.();

    // Fail closed: whatever was not re-confirmed within 24 hours goes.
    let dropped = 0;
    for (const table of ['messages', 'profiles', 'conversations'] as const) {
      dropped += await this.deleteInSteps(table, 'confirmed_at < ?', [ctx.freshSince()]);
    }
    if (dropped > 0) this.opts.onDropped?.('not_confirmed', dropped);
    const expired = await this.deleteInSteps('messages', 'created_at < ?', [now - this.opts.retentionMs]);
    // Deduplication needs handled event ids for minutes (ClickDesk's redeliveries), webhook ids for
    // ClickDesk's retries: a week and a month keep both, and the tables from growing for a year.
    await this.deleteInSteps('inbox', 'handled_at IS NOT NULL AND handled_at < ?', [now - 7 * 24 * HOUR]);
    await ctx.db.run('DELETE FROM webhook_deliveries WHERE received_at < ?', [now - 30 * 24 * HOUR]);
    if (dropped + expired + deletedUpstream > 0) await ctx.db.checkpoint();
    this.opts.logger.info({ refreshed, deletedUpstream, dropped, expired }, 'freshness pass done');
    return { refreshed, deletedUpstream, dropped, expired };
  }

  /**
   * A record that cannot be read (KEY_MISSING, DECRYPT_FAILED: already logged and counted) is
   * skipped, not allowed to stop the pass: left unconfirmed, it is dropped at 24 h like any other.
   */
  private async readable<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (isCodedError(err, 'KEY_MISSING') || isCodedError(err, 'DECRYPT_FAILED')) return undefined;
      throw err;
    }
  }

  /**
   * Deletes the rows matching `where` a bounded step at a time (indexed by migrations 6 and 9), one
   * short transaction each, yielding between steps: a day's worth of expired messages never holds
   * the event loop (SQLite is synchronous; steps are sized to `deleteStepMs`) or the one SQLite
   * writer for long. A step lost in a crash is deleted again at the next pass, so its commit does
   * not wait for its own fsync.
   */
  private async deleteInSteps(
    table: keyof typeof ROW_KEY,
    where: string,
    params: readonly unknown[],
  ): Promise<number> {
    const key = ROW_KEY[table];
    const { db } = this.opts.ctx;
    const max = this.opts.deleteStep ?? 2_000;
    const targetMs = this.opts.deleteStepMs ?? 5;
    const steps = db.dialect === 'sqlite' ? new AdaptiveBatch({ targetMs, max }) : undefined;
    const sql = `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?)`;
    let total = 0;
    for (;;) {
      const limit = steps?.size ?? max;
      let began = 0;
      const n = await db.transaction(
        (tx) => {
          began = performance.now();
          return tx.run(sql, [...params, limit]);
        },
        { lazySync: true },
      );
      const ms = performance.now() - began;
      total += n;
      if (n < limit) return total;
      steps?.observe(n, ms);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async confirm(
    method: string,
    args: Record<string, string>,
    teamId: string,
  ): Promise<'ok' | 'gone' | 'unknown'> {
    try {
      await this.opts.api.call(method, args, { kind: 'bot', teamId }, { priority: 'background' });
      return 'ok';
    } catch (err) {
      if (
        isCodedError(err, 'CLICKDESK_API_ERROR') &&
        /_not_found$/.test((err as { apiError?: string }).apiError ?? '')
      )
        return 'gone';
      this.opts.logger.warn(
        { method, err: describeError(err) },
        'could not re-confirm a record; it is dropped if this lasts past 24 h',
      );
      return 'unknown';
    }
  }
}
