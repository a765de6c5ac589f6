import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError, isCodedError } from '../errors';
import type { KeyRing } from '../storage/crypto/key-ring';
import type { SqlDatabase, SqlRunner } from '../storage/sql/sql-database';
import type { StorageContext } from '../storage/sql/storage-context';
import { WHOLE_TEAM } from '../storage/sql/tombstones';
import { unretiredGenerations } from '../storage/crypto/master-key-generations';
import { appendAudit } from './audit-log';
import { describeLayers, RECEIPT_VERSION } from './erasure-layers';
import type { Job, LifecycleJobs } from './lifecycle-jobs';
import type { ReceiptSigner } from './receipt-signer';
import { AdaptiveBatch } from './adaptive-batch';
import { erasureSteps, type DeleteStep } from './erasure-steps';
import { PURGED_TABLES } from './sealed-tables';

export interface ErasureWorkerOptions {
  db: SqlDatabase;
  keys: KeyRing;
  ctx: StorageContext;
  jobs: LifecycleJobs;
  signer: ReceiptSigner;
  logger: Logger;
  now?: () => number;
  /** Rows deleted per transaction, at most (default 2,000 on SQLite, 50,000 on PostgreSQL). */
  batchSize?: number;
  /**
   * Each batch is sized by its measured rate to take about this long. SQLite (default 5 ms): the
   * transaction runs on the app's thread and holds the one writer. PostgreSQL (default 100 ms):
   * the batch runs on the server, off the event loop; bounding it bounds the WAL burst other
   * teams' commits flush behind, and what a crash makes the job redo.
   */
  batchMs?: number;
  /** A job not renewed for this long is taken over by another worker (its worker died). */
  leaseMs?: number;
  pollMs?: number;
  /** Called after each deleted batch with its rows and duration (tests use it to be killed mid-job). */
  afterBatch?: (job: Job, batch: { rows: number; ms: number }) => Promise<void>;
  /** After `api_access.terminated`: everything is gone and the app must stop. */
  onTerminated?: () => void;
  onFinished?: (job: Job, seconds: number) => void;
}

/**
 * Runs data-lifecycle jobs (Terms 6.3, 6.4, 12.4), proving erasure in layers:
 * (a) unreadable — the keys are shredded first (every instance drops them at commit), then the
 *     rows are deleted in batches (progress is committed with each batch, so a job cut off by a
 *     crash resumes where it stopped; the write is fenced, so a worker that slept through a crash
 *     or lost its lease meanwhile rolls its batch back instead of counting rows twice);
 * (b) purged from the engine — the database's own remnants are removed (SQLite: WAL truncated;
 *     PostgreSQL: tables rewritten), retried until done; the job does not finish before;
 * (c) irrecoverable from copies — reached later, when every master-key generation live at the
 *     shred is retired (lifecycle/key-retirement); the receipt names them.
 * One signed receipt states (a) and (b) with their times. Every step can run again without harm.
 */
export class ErasureWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly aborter = new AbortController();
  private readonly now: () => number;
  /**
   * A job whose run failed other than by the fence (the database went away mid-batch): still
   * claimed by this worker, so it is resumed from its stored progress once that can be read
   * again, not after its lease runs out; a failure that repeats waits longer each time (1 s,
   * doubling, at most the lease).
   */
  private interrupted: { job: Job; failures: number; retryAt: number } | undefined;

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
      .catch((err: unknown) => {
        if (this.stopped)
          this.opts.logger.info('lifecycle job left open while stopping; it resumes at the next start');
        else this.opts.logger.error({ err: describeError(err) }, 'lifecycle job failed; it will be retried');
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Runs every open job; resolves when none is left. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const held = this.interrupted;
      if (held && performance.now() < held.retryAt) return;
      // A reload that fails (still no database) keeps the job held.
      let job = held && (await this.opts.jobs.reload(held.job));
      job ??= await this.opts.jobs.claim(this.opts.leaseMs ?? 60_000);
      if (!job) return;
      const failures = held?.job.jobId === job.jobId ? held.failures : 0;
      this.interrupted = undefined;
      try {
        while (job && !this.stopped) job = await this.runFenced(job);
      } catch (err) {
        const delay = Math.min(1_000 * 2 ** failures, this.opts.leaseMs ?? 60_000);
        this.interrupted = { job: job!, failures: failures + 1, retryAt: performance.now() + delay };
        throw err;
      }
    }
  }

  /**
   * Runs the job; if its stored state turns out not to be what this worker last wrote, answers
   * the job to run again from that state when it is still this worker's, or nothing.
   */
  private async runFenced(job: Job): Promise<Job | undefined> {
    try {
      await this.run(job);
      return undefined;
    } catch (err) {
      if (!isCodedError(err, 'JOB_FENCED_OUT')) throw err;
      // The batch whose write was refused rolled back with it: nothing was counted twice.
      const stored = await this.opts.jobs.reload(job);
      this.opts.logger.warn(
        { jobId: job.jobId, step: stored?.progress.step },
        stored
          ? 'lifecycle job stored behind this worker (its last writes were lost); resuming from the stored progress'
          : 'lifecycle job taken over by another worker; leaving it to that worker',
      );
      return stored;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.aborter.abort(); // a purge still retrying is left for the next start (the job stays open)
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
      let atRisk: string[] = [];
      const destroyed = await db.transaction(async (tx) => {
        atRisk = await unretiredGenerations(tx);
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
      progress.generationsAtRisk = atRisk;
      // An agent's messages in visitors' conversations are sealed under the visitors' keys: they
      // become unreadable when deleted below, not here.
      if (!(scope.kind === 'subject' && scope.subjectKind === 'agent'))
        progress.unreadableAt = progress.shreddedAt;
      progress.keysDestroyed = [...new Set([...progress.keysDestroyed, ...destroyed])];
      progress.step = 'shredded';
      await this.save(job);
      log.info({ keys: destroyed.length, ms: progress.shreddedAt - started }, 'data keys destroyed');
    }

    // 2. Delete the rows, batch by batch, counting what went. On SQLite each batch holds the event
    // loop (and the one writer) for a few milliseconds only, then lets chats through. PostgreSQL's
    // batches are larger (fewer commits and round trips for the same rows) but time-bounded too.
    const sqlite = db.dialect === 'sqlite';
    const maxBatch = this.opts.batchSize ?? (sqlite ? 2_000 : 50_000);
    const targetMs = this.opts.batchMs ?? (sqlite ? 5 : 100);
    const batch = new AdaptiveBatch({ targetMs, max: maxBatch, initial: sqlite ? 100 : 2_000 });
    for (const step of erasureSteps(job, db.dialect)) {
      for (;;) {
        const limit = batch.size;
        let began = 0;
        const deleted = await db.transaction(
          async (tx) => {
            began = performance.now();
            const n = await deleteBatch(tx, db.dialect, step, limit, progress.counts);
            progress.counts[step.name] = (progress.counts[step.name] ?? 0) + n;
            progress.step = `deleting ${step.name}`;
            // Fenced: the counts in memory are right only while the stored progress is what this
            // worker last wrote. After a crash that lost a batch (the worker did not see it, e.g.
            // paused between batches) or a takeover, this throws and the batch rolls back.
            await this.opts.jobs.saveProgress(tx, job, this.leaseUntil());
            return n;
          },
          // Without its own fsync: a batch lost in a crash is redone (its progress goes with its
          // rows; the shred is durable already), and the purge's checkpoint makes them all durable.
          { lazySync: true },
        );
        // A short last batch says nothing of the rate, unless it overran.
        const ms = performance.now() - began;
        if (step.key && (deleted === limit || ms > targetMs)) batch.observe(deleted, ms);
        if (deleted > 0) await this.opts.afterBatch?.(job, { rows: deleted, ms });
        await new Promise((resolve) => setImmediate(resolve));
        if (!step.key || deleted === 0) break;
      }
    }

    progress.unreadableAt ??= this.now();
    progress.deletedAt ??= this.now();

    // 3. Layer (b): nothing of it left in the engine's files; retried (off the event loop) until done.
    if (progress.purgedAt === undefined) {
      progress.step = 'purging';
      await this.save(job);
      const report = await db.purge(PURGED_TABLES, {
        signal: this.aborter.signal,
        onRetry: async (attempt, reason) => {
          if (attempt === 1 || attempt % 20 === 0)
            log.warn({ attempt, reason }, 'erased rows not yet purged from the database engine; retrying');
          await this.save(job);
        },
      });
      progress.purgedAt = this.now();
      progress.purge = report;
      await this.save(job);
      log.info(
        { attempts: report.attempts, ms: progress.purgedAt - started },
        'purged from the database engine',
      );
    }

    // 4. One signed receipt, the audit entry and the job's end, in one transaction.
    const finished = this.now();
    const receipt = this.opts.signer.sign({
      kind: 'clickdesk-bot-erasure-receipt',
      version: RECEIPT_VERSION,
      job_id: job.jobId,
      event: job.type,
      team_id: scope.kind === 'all' ? null : scope.teamId,
      subject: scope.kind === 'subject' ? { kind: scope.subjectKind, pseudonym: scope.subjectRef } : null,
      counts: progress.counts,
      keys_destroyed: progress.keysDestroyed,
      method: `crypto-shredding (data keys destroyed), deletion of the rows, then purge from the ${db.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} engine`,
      layers: describeLayers(progress),
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
      // Fenced too: a receipt is signed by the worker whose counts are the stored ones, once.
      await this.opts.jobs.finish(tx, job, finished);
    });
    log.info(
      { counts: progress.counts, seconds: (finished - started) / 1000 },
      'lifecycle job done; receipt issued',
    );
    this.opts.onFinished?.(job, (finished - started) / 1000);
    if (scope.kind === 'all') this.opts.onTerminated?.();
  }

  private async save(job: Job): Promise<void> {
    await this.opts.jobs.saveProgress(this.opts.db, job, this.leaseUntil());
  }

  private leaseUntil(): number {
    return this.now() + (this.opts.leaseMs ?? 60_000);
  }
}

/**
 * One batch of a step: at most `limit` rows of it (a keyed step), or all of them (a small table).
 * A step with `alsoFrom` reads its batch's keys once and deletes the other table's rows with them
 * too, in the same transaction, counted under their own name. Returns the step's own rows deleted.
 */
async function deleteBatch(
  tx: SqlRunner,
  dialect: SqlDatabase['dialect'],
  step: DeleteStep,
  limit: number,
  counts: Record<string, number>,
): Promise<number> {
  const { table, key, where, params, alsoFrom } = step;
  if (!key) return tx.run(`DELETE FROM ${table} WHERE ${where}`, params);
  if (!alsoFrom)
    return tx.run(
      // PostgreSQL: `= ANY(ARRAY(subquery))` runs the batch's SELECT once (an InitPlan); with
      // `IN (subquery)` the planner may re-run it per row and take minutes on a large table.
      dialect === 'postgres'
        ? `DELETE FROM ${table} WHERE ${key} = ANY(ARRAY(SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?))`
        : `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?)`,
      [...params, limit],
    );
  const keys = (
    await tx.all<{ k: string }>(`SELECT ${key} AS k FROM ${table} WHERE ${where} LIMIT ?`, [...params, limit])
  ).map((r) => r.k);
  if (keys.length === 0) return 0;
  const inKeys =
    dialect === 'postgres'
      ? { sql: `${key} = ANY(?::text[])`, params: [keys] }
      : { sql: `${key} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(keys)] };
  const also = await tx.run(`DELETE FROM ${alsoFrom.table} WHERE ${inKeys.sql}`, inKeys.params);
  counts[alsoFrom.name] = (counts[alsoFrom.name] ?? 0) + also;
  return tx.run(`DELETE FROM ${table} WHERE ${inKeys.sql}`, inKeys.params);
}
