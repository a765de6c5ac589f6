import path from 'node:path';
import { ErasureWorker, type ErasureWorkerOptions } from '../../src/lifecycle/erasure-worker';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { ReceiptSigner } from '../../src/lifecycle/receipt-signer';
import { silentLogger } from '../../src/logging/create-logger';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { receiptDocs } from '../helpers/forensics';
import type { Storage } from '../../src/storage/open-storage';
import { storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

const MESSAGES = 2_000;
const BATCH = 500;
const LEASE_MS = 1_000;

/** `MESSAGES` messages of one visitor in one conversation, and a recorded job to erase them. */
async function visitorToErase(fx: StorageFixture, storage: Storage, name: string, now: () => number) {
  const sql = storage.sql!;
  const visitor = { kind: 'visitor' as const, id: `V-${name}` };
  await Promise.all(
    Array.from({ length: MESSAGES }, (_, n) =>
      storage.messages.append({
        teamId: 'T1',
        conversationId: `C-${name}`,
        eventId: `Ev-${name}-${n}`,
        subject: visitor,
        sender: visitor,
        text: `${name} ${n}`,
        ts: String(n),
      }),
    ),
  );
  const jobs = new LifecycleJobs(sql.db, now);
  await jobs.record(`msg_${name}`, 'data_deletion.requested', {
    kind: 'subject',
    teamId: 'T1',
    subjectKind: 'visitor',
    subjectRef: sql.ctx.subjectRef('T1', visitor),
  });
  const signer = ReceiptSigner.fromFile(await loadSodium(), path.join(fx.dataDir, 'receipt-signing.key'));
  return { jobs, signer };
}

/**
 * Two instances' erasure workers on one SQLite store. The first is paused between two batches for
 * longer than its lease (a long GC pause, a stopped VM); the second takes the job over. When the
 * first wakes, the job is no longer its own: whatever it deletes then must not reach a receipt.
 */
describe('an erasure job taken over while its worker was paused past its lease', () => {
  it('is finished and signed by the worker that took it over, counting every row once, and the paused worker writes nothing when it wakes', async () => {
    const fx = await storageFixture('sqlite');
    const storage = await fx.open();
    const sql = storage.sql!;
    try {
      // The lease runs on this clock: a pause past the lease is a jump of it, not a wait.
      let clock = Date.now();
      const now = () => clock;
      const { jobs, signer } = await visitorToErase(fx, storage, 'paused', now);
      const worker = (afterBatch: NonNullable<ErasureWorkerOptions['afterBatch']>) =>
        new ErasureWorker({
          ...sql,
          jobs,
          signer,
          logger: silentLogger(),
          now,
          batchSize: BATCH,
          leaseMs: LEASE_MS,
          afterBatch,
        });

      // The first worker deletes two batches of messages, then sleeps past its lease until the
      // second has claimed the job and deleted a batch of its own.
      let paused!: () => void;
      const pause = new Promise<void>((resolve) => (paused = resolve));
      let tookOver!: () => void;
      const takeover = new Promise<void>((resolve) => (tookOver = resolve));
      let firstBatches = 0;
      const first = worker(async (job) => {
        if (job.progress.step !== 'deleting messages' || ++firstBatches !== 2) return;
        clock += 5 * LEASE_MS;
        paused();
        await takeover;
      });
      const firstDone = first.drain();
      await pause;

      // The second worker lets the first wake after its first batch, and goes on once the first
      // has given up (or, unfenced, finished the job on its stale counts).
      let secondBatches = 0;
      const second = worker(async (job) => {
        if (job.progress.step !== 'deleting messages' || ++secondBatches !== 1) return;
        tookOver();
        await firstDone;
      });
      await second.drain();
      await firstDone;

      const receipts = await receiptDocs({ storage });
      expect(receipts.map((r) => r.counts.messages)).toEqual([MESSAGES]);
      expect(firstBatches).toBe(2);
      const [left] = await sql.db.all<{ n: number }>(
        "SELECT COUNT(*) AS n FROM messages WHERE team_id = 'T1'",
      );
      expect(Number(left?.n)).toBe(0);
      const erased = await sql.db.all('SELECT 1 FROM audit_log WHERE entry LIKE \'%"erased"%\'');
      expect(erased).toHaveLength(1);
    } finally {
      await storage.close();
      await fx.cleanup();
    }
  }, 60_000);
});

/**
 * A batch that fails without the fence (the database went away mid-job, then came back): the job
 * is still claimed by this worker, and its lease (60 s by default) has not run out. The worker
 * resumes it from the stored progress once it can read it again, instead of waiting for the lease.
 */
describe('an erasure job whose worker failed mid-job while still holding it', () => {
  it('is resumed by that worker from its stored progress before its lease runs out, counting every row once', async () => {
    const fx = await storageFixture('sqlite');
    const storage = await fx.open();
    const sql = storage.sql!;
    try {
      // A clock that stands still: the lease never runs out, so only the worker itself can go on.
      const clock = Date.now();
      const { jobs, signer } = await visitorToErase(fx, storage, 'failed', () => clock);
      let batches = 0;
      const worker = new ErasureWorker({
        ...sql,
        jobs,
        signer,
        logger: silentLogger(),
        now: () => clock,
        batchSize: BATCH,
        leaseMs: 60_000,
        pollMs: 50,
        afterBatch: (job) => {
          if (job.progress.step === 'deleting messages' && ++batches === 2)
            return Promise.reject(new Error('Connection terminated unexpectedly'));
          return Promise.resolve();
        },
      });
      worker.start();
      try {
        let receipts: Awaited<ReturnType<typeof receiptDocs>> = [];
        const deadline = Date.now() + 10_000;
        while ((receipts = await receiptDocs({ storage })).length === 0) {
          if (Date.now() > deadline) throw new Error('the job was not resumed within 10 s');
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(batches).toBeGreaterThan(2);
        expect(receipts.map((r) => r.counts.messages)).toEqual([MESSAGES]);
      } finally {
        await worker.stop();
      }
      const [left] = await sql.db.all<{ n: number }>(
        "SELECT COUNT(*) AS n FROM messages WHERE team_id = 'T1'",
      );
      expect(Number(left?.n)).toBe(0);
    } finally {
      await storage.close();
      await fx.cleanup();
    }
  }, 60_000);
});
