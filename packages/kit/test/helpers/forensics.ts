import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { describeLayers } from '../../src/lifecycle/erasure-layers';
import type { SignedDocument } from '../../src/lifecycle/receipt-signer';
import { PURGED_TABLES } from '../../src/lifecycle/sealed-tables';
import type { LifecyclePair } from './lifecycle-pair';
import type { StorageFixture } from './storage-fixtures';
import { adminQuery } from './storage-fixtures';
import { sleep } from './wait-for';

/**
 * The raw files a forensic reader would take: SQLite's database, -wal and -shm; PostgreSQL's
 * relation files (heap, TOAST and indexes, every 1 GB segment) of the app's tables in the fixture's
 * schema, found with pg_relation_filepath under SHOW data_directory (tests run on the same
 * machine as the server, as a user that can read them).
 */
export async function rawDatabaseFiles(fx: StorageFixture): Promise<string[]> {
  if (fx.kind === 'sqlite') return fx.files().filter((f) => existsSync(f));
  const query = (sql: string, params: unknown[] = []) => adminQuery(sql, params, fx.databaseUrl);
  const dataDir = (await query('SHOW data_directory')).rows[0].data_directory as string;
  const files: string[] = [];
  for (const table of PURGED_TABLES) {
    const { rows } = await query(
      `SELECT pg_relation_filepath(c.oid) AS heap,
              CASE WHEN c.reltoastrelid <> 0 THEN pg_relation_filepath(c.reltoastrelid) END AS toast,
              ARRAY(SELECT pg_relation_filepath(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [fx.pgSchema, table],
    );
    const row = rows[0] as { heap?: string; toast?: string | null; indexes?: string[] } | undefined;
    for (const rel of [row?.heap, row?.toast, ...(row?.indexes ?? [])]) {
      if (!rel) continue;
      const base = path.join(dataDir, rel);
      for (let segment = 0; ; segment++) {
        const file = segment === 0 ? base : `${base}.${segment}`;
        if (!existsSync(file)) break;
        files.push(file);
      }
    }
  }
  return files;
}

/** Which of `needles` occur in any of `files` (as indexes into `needles`). */
export function occurrences(files: readonly string[], needles: readonly Buffer[]): number[] {
  const contents = files.map((f) => readFileSync(f));
  return needles.flatMap((needle, i) => (contents.some((c) => c.includes(needle)) ? [i] : []));
}

export interface Evidence {
  wrappedKeys: Buffer[];
  ciphertexts: Buffer[];
}

export type EvidenceQuery = [string, unknown[]];

/** The bytes a forensic reader would look for: wrapped data keys and sealed values (each query selects `v`). */
export async function evidence(
  p: LifecyclePair,
  keys: EvidenceQuery,
  rows: EvidenceQuery[],
): Promise<Evidence> {
  const db = p.storage.sql!.db;
  const take = async ([sql, params]: EvidenceQuery) =>
    (await db.all<{ v: Buffer }>(sql, params)).map((r) => Buffer.from(r.v));
  const ciphertexts: Buffer[] = [];
  for (const q of rows) ciphertexts.push(...(await take(q)));
  return { wrappedKeys: await take(keys), ciphertexts };
}

export interface ReceiptDoc {
  method: string;
  counts: Record<string, number>;
  layers: ReturnType<typeof describeLayers>;
}

/** The signed receipts' documents, oldest first. */
export const receiptDocs = async (p: Pick<LifecyclePair, 'storage'>): Promise<ReceiptDoc[]> =>
  (await p.storage.sql!.db.all<{ document: string }>('SELECT document FROM receipts ORDER BY issued_at')).map(
    (r) => JSON.parse((JSON.parse(r.document) as SignedDocument).document) as ReceiptDoc,
  );

/** The document of the receipt signed after the first `before` (polled). */
export async function nextReceipt(p: LifecyclePair, before: number, timeoutMs = 30_000): Promise<ReceiptDoc> {
  let docs: ReceiptDoc[] = [];
  const deadline = Date.now() + timeoutMs;
  while ((docs = await receiptDocs(p)).length === before) {
    if (Date.now() > deadline) throw new Error(`no receipt within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
  return docs[docs.length - 1]!;
}
