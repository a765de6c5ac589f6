import { spawn } from 'node:child_process';
import path from 'node:path';
import { ErasureWorker } from '../../src/lifecycle/erasure-worker';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs';
import { ReceiptSigner, type SignedDocument } from '../../src/lifecycle/receipt-signer';
import { silentLogger } from '../../src/logging/create-logger';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { storageFixture } from '../helpers/storage-fixtures';
import { waitFor } from '../helpers/wait-for';

describe('an erasure job cut off by SIGKILL', () => {
  it('finishes after restart, with exactly one receipt counting every row', async () => {
    const fx = await storageFixture('sqlite');
    const storage = await fx.open();
    const sql = storage.sql!;
    try {
      const subject = { kind: 'visitor' as const, id: 'V-crash' };
      for (let base = 0; base < 3000; base += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, i) =>
            storage.messages.append({
              teamId: 'T1',
              conversationId: 'C-crash',
              eventId: `Ev${base + i}`,
              subject,
              sender: subject,
              text: `message ${base + i}`,
              ts: String(base + i),
            }),
          ),
        );
      }
      await storage.messages.append({
        teamId: 'T1',
        conversationId: 'C-other',
        eventId: 'Ev-keep',
        subject: { kind: 'visitor', id: 'V-keep' },
        sender: { kind: 'visitor', id: 'V-keep' },
        text: 'keep',
        ts: '1',
      });
      const jobs = new LifecycleJobs(sql.db);
      const ref = sql.ctx.subjectRef('T1', subject);
      await jobs.record('msg_crash', 'data_deletion.requested', {
        kind: 'subject',
        teamId: 'T1',
        subjectKind: 'visitor',
        subjectRef: ref,
      });

      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(__dirname, '../fixtures/erasure-worker-child.ts'),
          fx.dataDir,
          fx.masterKey,
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let batches = 0;
      child.stdout.on('data', (d: Buffer) => (batches += (d.toString().match(/batch/g) ?? []).length));
      await waitFor('some batches deleted', () => batches >= 5, 20_000);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const [left] = await sql.db.all<{ n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE subject_ref = ?',
        [ref],
      );
      expect(Number(left?.n)).toBeGreaterThan(0);
      expect(Number(left?.n)).toBeLessThan(3000);
      expect(await sql.db.all('SELECT * FROM receipts')).toEqual([]);

      // Restart: a new worker takes the job over once the dead worker's lease has run out.
      await new Promise((r) => setTimeout(r, 1_100));
      const worker = new ErasureWorker({
        ...sql,
        jobs,
        signer: ReceiptSigner.fromFile(await loadSodium(), path.join(fx.dataDir, 'receipt-signing.key')),
        logger: silentLogger(),
      });
      await worker.drain();

      const receipts = await sql.db.all<{ document: string }>('SELECT document FROM receipts');
      expect(receipts).toHaveLength(1);
      const doc = JSON.parse((JSON.parse(receipts[0]!.document) as SignedDocument).document);
      expect(doc.counts.messages).toBe(3000);
      const [gone] = await sql.db.all<{ n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE subject_ref = ?',
        [ref],
      );
      expect(Number(gone?.n)).toBe(0);
      expect((await storage.messages.listConversation('T1', 'C-other')).map((m) => m.text)).toEqual(['keep']);
    } finally {
      await storage.close();
      await fx.cleanup();
    }
  }, 60_000);
});
