import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError } from '../errors';
import type { KeyRing } from '../storage/crypto/key-ring';
import type { SqlDatabase } from '../storage/sql/sql-database';
import type { StorageContext } from '../storage/sql/storage-context';
import { WHOLE_TEAM } from '../storage/sql/tombstones';
import { appendAudit } from './audit-log';
import type { Job, LifecycleJobs } from './lifecycle-jobs';
import type { ReceiptSigner } from './receipt-signer';

export interface ErasureWorkerOptions {
  db: SqlDatabase;
  keys: KeyRing;
  ctx: StorageContext;
  jobs: LifecycleJobs;
  signer: ReceiptSigner;
  logger: Logger;
  now?: () => number;
  /** Rows deleted per transaction. */
  batchSize?: number;
  /** A job not renewed for this long is taken over by another worker (its worker died). */
  leaseMs?: number;
  pollMs?: number;
  /** Called after each deleted batch (tests use it to be killed mid-job). */
  afterBatch?: (job: Job) => Promise<void>;
  /** After `api_access.terminated`: everything is gone and the app must stop. */
  onTerminated?: () => void;
  onFinished?: (job: Job, seconds: number) => void;
}

interface DeleteStep {
  table: string;
  /** Counted under this name in the receipt. */
  name: string;
  where: string;
  params: unknown[];
  /** Primary key to delete by in batches; absent for small tables deleted in one statement. */
  key?: string;
}

/**
 * Runs data-lifecycle jobs (Terms 6.3, 6.4, 12.4): shred the keys first, so the Data is
 * unreadable at once, then delete the rows in batches (progress is committed with each batch,
 * so a job cut off by a crash resumes where it stopped), checkpoint SQLite so no erased bytes
 * stay in its files, and issue one signed receipt. Every step can run again without harm.
 */
export class ErasureWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: ErasureWorkerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1_000);
    this.timer.unref();
    this.kick();
  }

  /** Looks for work now (after a webhook recorded a job). */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain()
      .catch((err: unknown) =>
        this.opts.logger.error({ err: describeError(err) }, 'lifecycle job failed; it will be retried'),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Runs every open job; resolves when none is left. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const job = await this.opts.jobs.claim(this.opts.leaseMs ?? 60_000);
      if (!job) return;
      await this.run(job);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async run(job: Job): Promise<void> {
    const { db, keys, ctx, logger } = this.opts;
    const started = this.now();
    const log = logger.child({ jobId: job.jobId, type: job.type });
    log.info({ step: job.progress.step ?? 'start' }, 'lifecycle job running');
    const progress = job.progress;
    const scope = job.scope;

    // 1. Tombstone and shred: the Data is unreadable from here on, whatever its size.
    if (progress.shreddedAt === undefined) {
      // Tombstone and key destruction commit together: one transaction, one fsync.
      const destroyed = await db.transaction(async (tx) => {
        if (scope.kind === 'subject') {
          await ctx.tombstones.add(tx, scope.teamId, scope.subjectRef);
          return keys.destroy(scope.teamId, 'subject', scope.subjectRef, tx);
        }
        if (scope.kind === 'team') {
          await ctx.tombstones.add(tx, scope.teamId, WHOLE_TEAM);
          return [
            ...(await keys.destroy(scope.teamId, 'team', undefined, tx)),
            ...(await keys.destroy(scope.teamId, 'subject', undefined, tx)),
          ];
        }
        return [];
      });
      if (scope.kind === 'all') destroyed.push(...(await keys.destroyAll()));
      progress.shreddedAt = this.now();
      progress.keysDestroyed = [...new Set([...progress.keysDestroyed, ...destroyed])];
      progress.step = 'shredded';
      await this.save(job);
      log.info({ keys: destroyed.length, ms: progress.shreddedAt - started }, 'data keys destroyed');
    }

    // 2. Delete the rows, batch by batch, counting what went.
    for (const step of this.steps(job)) {
      for (;;) {
        const deleted = await db.transaction(async (tx) => {
          const n = step.key
            ? await tx.run(
                `DELETE FROM ${step.table} WHERE ${step.key} IN (SELECT ${step.key} FROM ${step.table} WHERE ${step.where} LIMIT ?)`,
                [...step.params, this.opts.batchSize ?? 2_000],
              )
            : await tx.run(`DELETE FROM ${step.table} WHERE ${step.where}`, step.params);
          progress.counts[step.name] = (progress.counts[step.name] ?? 0) + n;
          progress.step = `deleting ${step.name}`;
          await tx.run('UPDATE lifecycle_jobs SET progress = ?, lease_until = ? WHERE job_id = ?', [
            JSON.stringify(progress),
            this.now() + (this.opts.leaseMs ?? 60_000),
            job.jobId,
          ]);
          return n;
        });
        if (deleted > 0) await this.opts.afterBatch?.(job);
        // Let chats through between batches: erasure must not stall the app (SQLite runs it on this thread).
        await new Promise((resolve) => setImmediate(resolve));
        if (!step.key || deleted === 0) break;
      }
    }

    // 3. No erased bytes left in SQLite's files (secure_delete zeroed the pages; this empties the WAL).
    await db.checkpoint();

    // 4. One signed receipt, the audit entry and the job's end, in one transaction.
    const finished = this.now();
    const receipt = this.opts.signer.sign({
      kind: 'clickdesk-bot-erasure-receipt',
      version: 1,
      job_id: job.jobId,
      event: job.type,
      team_id: scope.kind === 'all' ? null : scope.teamId,
      subject: scope.kind === 'subject' ? { kind: scope.subjectKind, pseudonym: scope.subjectRef } : null,
      counts: progress.counts,
      keys_destroyed: progress.keysDestroyed,
      method:
        'crypto-shredding (data keys destroyed), then deletion of the rows; SQLite secure_delete and WAL checkpoint',
      requested_at: job.requestedAt ?? null,
      received_at: job.createdAt,
      started_at: job.startedAt ?? started,
      shredded_at: progress.shreddedAt,
      finished_at: finished,
    });
    const receiptHash = createHash('sha256').update(receipt.document).digest('hex');
    await db.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO receipts (job_id, issued_at, document) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        [job.jobId, finished, JSON.stringify(receipt)],
      );
      await appendAudit(
        tx,
        db.dialect,
        {
          action: 'erased',
          job_id: job.jobId,
          event: job.type,
          team_id: scope.kind === 'all' ? null : scope.teamId,
          counts: progress.counts,
          receipt_sha256: receiptHash,
        },
        finished,
      );
      await tx.run(
        "UPDATE lifecycle_jobs SET state = 'done', finished_at = ?, lease_until = NULL, progress = ? WHERE job_id = ?",
        [finished, JSON.stringify({ ...progress, step: 'done' }), job.jobId],
      );
    });
    log.info(
      { counts: progress.counts, seconds: (finished - started) / 1000 },
      'lifecycle job done; receipt issued',
    );
    this.opts.onFinished?.(job, (finished - started) / 1000);
    if (scope.kind === 'all') this.opts.onTerminated?.();
  }

  private steps(job: Job): DeleteStep[] {
    const s = job.scope;
    if (s.kind === 'subject') {
      const p = [s.teamId, s.subjectRef];
      return [
        {
          table: 'messages',
          name: 'messages',
          where: 'team_id = ? AND subject_ref = ?',
          params: p,
          key: 'event_id',
        },
        {
          table: 'inbox',
          name: 'inbox_events',
          where: 'team_id = ? AND subject_ref = ?',
          params: p,
          key: 'event_id',
        },
        { table: 'profiles', name: 'profiles', where: 'team_id = ? AND subject_ref = ?', params: p },
        {
          table: 'conversations',
          name: 'conversations',
          where: 'team_id = ? AND visitor_ref = ?',
          params: p,
        },
      ];
    }
    if (s.kind === 'team') {
      const p = [s.teamId];
      return [
        { table: 'messages', name: 'messages', where: 'team_id = ?', params: p, key: 'event_id' },
        { table: 'inbox', name: 'inbox_events', where: 'team_id = ?', params: p, key: 'event_id' },
        { table: 'profiles', name: 'profiles', where: 'team_id = ?', params: p },
        { table: 'conversations', name: 'conversations', where: 'team_id = ?', params: p },
        // Its tokens were sealed under the team key just shredded; the row goes too.
        { table: 'installations', name: 'installations', where: 'team_id = ?', params: p },
      ];
    }
    return [
      { table: 'messages', name: 'messages', where: '1 = 1', params: [], key: 'event_id' },
      { table: 'inbox', name: 'inbox_events', where: '1 = 1', params: [], key: 'event_id' },
      { table: 'profiles', name: 'profiles', where: '1 = 1', params: [] },
      { table: 'conversations', name: 'conversations', where: '1 = 1', params: [] },
      { table: 'installations', name: 'installations', where: '1 = 1', params: [] },
      { table: 'oauth_states', name: 'oauth_states', where: '1 = 1', params: [] },
      { table: 'tombstones', name: 'tombstones', where: '1 = 1', params: [] },
      { table: 'webhook_deliveries', name: 'webhook_ids', where: '1 = 1', params: [] },
      { table: 'data_keys', name: 'data_keys', where: '1 = 1', params: [] },
    ];
  }

  private async save(job: Job): Promise<void> {
    await this.opts.db.run('UPDATE lifecycle_jobs SET progress = ?, lease_until = ? WHERE job_id = ?', [
      JSON.stringify(job.progress),
      this.now() + (this.opts.leaseMs ?? 60_000),
      job.jobId,
    ]);
  }
}
