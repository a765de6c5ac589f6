import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { StoredMessage } from '../src/core/conversation-store';
import { generateMasterKeyText } from '../src/storage/crypto/master-keys';
import { openStorage, type Storage, type StorageKind } from '../src/storage/open-storage';
import { SqlMessageStore } from '../src/storage/sql/sql-message-store';
import { PlaintextStorageContext } from './plaintext-storage-context';
import { median, type BenchReport } from './report';

export interface BenchDatabase {
  kind: Exclude<StorageKind, 'memory'>;
  /** A temp folder of its own (SQLite's file lives here). */
  dataDir: string;
  open(): Promise<Storage>;
  cleanup(): Promise<void>;
}

/** A throwaway database of the given kind: a temp folder, or a fresh PostgreSQL schema. */
export async function benchDatabase(
  kind: 'sqlite' | 'postgres',
  databaseUrl: string,
): Promise<BenchDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-bench-'));
  const schema = kind === 'postgres' ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(sql);
    await c.end();
  };
  if (schema) await admin(`CREATE SCHEMA ${schema}`);
  const masterKey = generateMasterKeyText();
  return {
    kind,
    dataDir,
    open: () =>
      openStorage({
        kind,
        dataDir,
        databaseUrl,
        pgSchema: schema,
        masterKeys: { key: masterKey, previous: [] },
      }),
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      if (schema) await admin(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

const TEXT =
  'Hello, I ordered a blue kettle last week (order 48213) and it has not arrived yet. Can you check where it is?';
// ClickDesk-shaped ids (a letter and 12 hex digits, as the simulator makes them).
const id = (prefix: string, n: number): string =>
  `${prefix}${(0x5a17c0de0000 + n).toString(16).toUpperCase()}`;
const message = (i: number, run: string): StoredMessage => ({
  teamId: 'T0SANDBOX',
  conversationId: id('C', i % 200),
  eventId: `Ev${run}${id('', i)}`,
  subject: { kind: 'visitor', id: id('V', i % 200) },
  sender: { kind: 'visitor', id: id('V', i % 200) },
  text: TEXT,
  ts: String(i),
});

/** Writes `count` messages with `concurrency` in flight, so group commit batches them as the app would. */
async function insertAll(
  count: number,
  concurrency: number,
  insert: (i: number) => Promise<void>,
): Promise<number> {
  const start = process.hrtime.bigint();
  for (let base = 0; base < count; base += concurrency) {
    const batch = [];
    for (let i = base; i < Math.min(count, base + concurrency); i++) batch.push(insert(i));
    await Promise.all(batch);
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Encrypted inserts and reads through the real message store, against the same store, rows,
 * table and group commit with encryption and blind indexes replaced by plain JSON and raw ids:
 * the cost of Terms 6.2.
 */
export async function storageBenchmark(
  opts: { kinds: Array<'sqlite' | 'postgres'>; messages: number; rounds: number; databaseUrl: string },
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  for (const kind of opts.kinds) {
    const enc: number[] = [];
    const plain: number[] = [];
    const encRead: number[] = [];
    const plainRead: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      progress(`${kind}: round ${r + 1}/${opts.rounds}, ${opts.messages} messages`);
      // Each side gets a database of its own, fresh, so neither writes into the other's rows.
      const order: Array<'plain' | 'enc'> = r % 2 === 0 ? ['plain', 'enc'] : ['enc', 'plain'];
      for (const which of order) {
        const bench = await benchDatabase(kind, opts.databaseUrl);
        const storage = await bench.open();
        try {
          const { db, ctx } = storage.sql!;
          const store =
            which === 'plain'
              ? new SqlMessageStore(new PlaintextStorageContext(db, ctx.keys, ctx.cipher))
              : storage.messages;
          const inserted = await insertAll(opts.messages, 500, (i) => store.append(message(i, `r${r}`)));
          const conversations = Array.from({ length: 200 }, (_, c) => id('C', c));
          const start = process.hrtime.bigint();
          let read = 0;
          for (const c of conversations) read += (await store.listConversation('T0SANDBOX', c)).length;
          const reads = read / (Number(process.hrtime.bigint() - start) / 1e9);
          (which === 'plain' ? plain : enc).push(inserted);
          (which === 'plain' ? plainRead : encRead).push(reads);
        } finally {
          await storage.close();
          await bench.cleanup();
        }
      }
    }
    rows.push(
      { label: `${kind}: plaintext inserts/s (baseline)`, value: median(plain) },
      { label: `${kind}: encrypted inserts/s`, value: median(enc) },
      {
        label: `${kind}: ratio encrypted / plaintext inserts (target >= 0.7)`,
        value: median(enc) / median(plain),
        ratio: true,
      },
      { label: `${kind}: plaintext reads/s (baseline)`, value: median(plainRead) },
      { label: `${kind}: encrypted reads/s`, value: median(encRead) },
      {
        label: `${kind}: ratio encrypted / plaintext reads`,
        value: median(encRead) / median(plainRead),
        ratio: true,
      },
    );
  }
  return {
    name: 'encrypted storage',
    rows,
    notes: [
      `${opts.messages} messages of ${TEXT.length} characters over 200 conversations, 500 writes in flight (group commit), median of ${opts.rounds}`,
    ],
  };
}
