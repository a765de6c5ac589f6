import { randomUUID } from 'node:crypto';
import { CodedError } from '../errors';
import type { SqlDatabase, SqlRunner } from '../storage/sql/sql-database';
import type { ErasureScope, LifecycleEvent } from './lifecycle-event';

export interface JobProgress {
  counts: Record<string, number>;
  keysDestroyed: string[];
  shreddedAt?: number;
  /** Layer (a): every row about the subject unreadable in the live database. */
  unreadableAt?: number;
  /** Master-key generations not retired when the keys were destroyed: layer (c) waits on them. */
  generationsAtRisk?: string[];
  /** When the last row was deleted (the purge starts then). */
  deletedAt?: number;
  /** Layer (b): purged from the database engine. */
  purgedAt?: number;
  purge?: { engine: string; done: string; remains: string; attempts: number };
  step?: string;
}

/** A lifecycle webhook's type, or `deleted_upstream` when the refresher found a person gone (Terms 6.1). */
export type JobType = LifecycleEvent['type'] | 'deleted_upstream';

export interface Job {
  jobId: string;
  webhookId: string;
  type: JobType;
  scope: ErasureScope;
  requestedAt: number | undefined;
  createdAt: number;
  startedAt: number | undefined;
  progress: JobProgress;
  /**
   * The token of the job's stored state as this worker last wrote or read it: its claim, then a
   * part unique to the write. A write goes through only where the stored token is still this one.
   */
  fence: string;
}

interface JobRow {
  job_id: string;
  webhook_id: string;
  type: JobType;
  team_id: string | null;
  subject_kind: 'visitor' | 'agent' | null;
  subject_ref: string | null;
  requested_at: number | null;
  created_at: number;
  started_at: number | null;
  progress: string;
  fence: string | null;
}

/** A token unique to one write of a job's state, under the claim it was written in. */
const nextFence = (claim: string) => `${claim}/${randomUUID()}`;
const claimOf = (fence: string) => fence.slice(0, fence.indexOf('/'));

/**
 * Durable lifecycle jobs: recorded with their webhook id, claimed under a lease, resumable. Every
 * write of a claimed job's state is fenced: it replaces the stored token only where it is still
 * the one its writer last wrote, so a worker whose last writes a database crash lost, or whose
 * lease another worker took over, writes nothing more and adds nothing to the counts.
 */
export class LifecycleJobs {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records the job and its webhook id in one transaction. A webhook id seen before records
   * nothing and answers 'duplicate' (ClickDesk retries reuse the id).
   */
  async record(
    webhookId: string,
    type: JobType,
    scope: ErasureScope,
    requestedAt?: number,
  ): Promise<'recorded' | 'duplicate'> {
    return this.db.transaction(async (tx) => {
      const fresh = await tx.run(
        'INSERT INTO webhook_deliveries (webhook_id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
        [webhookId, this.now()],
      );
      if (fresh === 0) return 'duplicate';
      const progress: JobProgress = { counts: {}, keysDestroyed: [] };
      await tx.run(
        `INSERT INTO lifecycle_jobs (job_id, webhook_id, type, team_id, subject_kind, subject_ref, requested_at, created_at, state, progress)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
        [
          `job_${randomUUID()}`,
          webhookId,
          type,
          scope.kind === 'all' ? null : scope.teamId,
          scope.kind === 'subject' ? scope.subjectKind : null,
          scope.kind === 'subject' ? scope.subjectRef : null,
          requestedAt ?? null,
          this.now(),
          JSON.stringify(progress),
        ],
      );
      return 'recorded';
    });
  }

  /** Claims the oldest open job that no live worker holds (a crashed worker's lease runs out). */
  async claim(leaseMs: number): Promise<Job | undefined> {
    const now = this.now();
    const candidates = await this.db.all<JobRow>(
      "SELECT * FROM lifecycle_jobs WHERE state <> 'done' AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at LIMIT 5",
      [now],
    );
    for (const row of candidates) {
      // A new claim: the worker that held the job before is fenced out from here on.
      const fence = nextFence(randomUUID());
      const won = await this.db.run(
        "UPDATE lifecycle_jobs SET state = 'running', lease_until = ?, started_at = COALESCE(started_at, ?), fence = ? WHERE job_id = ? AND state <> 'done' AND (lease_until IS NULL OR lease_until < ?)",
        [now + leaseMs, now, fence, row.job_id, now],
      );
      if (won === 1) return toJob({ ...row, started_at: row.started_at ?? now, fence });
    }
    return undefined;
  }

  /**
   * Stores the job's progress and renews its lease (inside the caller's transaction, if any).
   * Throws JOB_FENCED_OUT, writing nothing, when the stored state is not what this worker last
   * wrote: a crash lost its last writes, or another worker claimed the job.
   */
  async saveProgress(runner: SqlRunner, job: Job, leaseUntil: number): Promise<void> {
    await this.fencedWrite(runner, job, 'progress = ?, lease_until = ?', [
      JSON.stringify(job.progress),
      leaseUntil,
    ]);
  }

  /** Marks the job done with its final progress; fenced like `saveProgress`. */
  async finish(runner: SqlRunner, job: Job, finishedAt: number): Promise<void> {
    await this.fencedWrite(runner, job, "state = 'done', finished_at = ?, lease_until = NULL, progress = ?", [
      finishedAt,
      JSON.stringify({ ...job.progress, step: 'done' }),
    ]);
  }

  /**
   * The job as stored, if it is open and no other claim has taken it since `job` was claimed:
   * after JOB_FENCED_OUT, the worker resumes from here (its own last durable write), or leaves
   * the job to the worker that holds it now (undefined).
   */
  async reload(job: Job): Promise<Job | undefined> {
    const [row] = await this.db.all<JobRow>(
      "SELECT * FROM lifecycle_jobs WHERE job_id = ? AND state <> 'done'",
      [job.jobId],
    );
    if (!row?.fence || claimOf(row.fence) !== claimOf(job.fence)) return undefined;
    return toJob({ ...row, fence: row.fence });
  }

  private async fencedWrite(runner: SqlRunner, job: Job, set: string, params: unknown[]): Promise<void> {
    const fence = nextFence(claimOf(job.fence));
    const written = await runner.run(
      `UPDATE lifecycle_jobs SET ${set}, fence = ? WHERE job_id = ? AND fence = ?`,
      [...params, fence, job.jobId, job.fence],
    );
    if (written === 0)
      throw new CodedError(
        'JOB_FENCED_OUT',
        `lifecycle job ${job.jobId} is not as this worker last wrote it (a crash lost the write, or another worker claimed the job)`,
      );
    job.fence = fence;
  }

  async pendingCount(): Promise<{ pending: number; oldestCreatedAt: number | undefined }> {
    const [row] = await this.db.all<{ n: number; oldest: number | null }>(
      "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM lifecycle_jobs WHERE state <> 'done'",
    );
    return { pending: Number(row?.n ?? 0), oldestCreatedAt: row?.oldest ?? undefined };
  }
}

function toJob(row: JobRow & { fence: string }): Job {
  const scope: ErasureScope =
    row.type === 'api_access.terminated'
      ? { kind: 'all' }
      : row.subject_ref && row.subject_kind
        ? {
            kind: 'subject',
            teamId: row.team_id ?? '',
            subjectKind: row.subject_kind,
            subjectRef: row.subject_ref,
          }
        : { kind: 'team', teamId: row.team_id ?? '' };
  return {
    jobId: row.job_id,
    webhookId: row.webhook_id,
    type: row.type,
    scope,
    requestedAt: row.requested_at ?? undefined,
    createdAt: Number(row.created_at),
    startedAt: row.started_at ?? undefined,
    progress: JSON.parse(row.progress) as JobProgress,
    fence: row.fence,
  };
}
