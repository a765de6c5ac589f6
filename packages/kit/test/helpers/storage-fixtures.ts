import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generateMasterKeyText } from '../../src/storage/crypto/master-keys';
import { openStorage, sqliteFile, type Storage, type StorageOptions } from '../../src/storage/open-storage';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A place for one test's data: a temp folder for SQLite, a fresh schema for PostgreSQL. */
export interface StorageFixture {
  kind: 'sqlite' | 'postgres';
  dataDir: string;
  /** The PostgreSQL server the fixture's schema lives on. */
  databaseUrl: string;
  pgSchema: string | undefined;
  masterKey: string;
  open(overrides?: Partial<StorageOptions>): Promise<Storage>;
  /** SQLite: the database file and its -wal and -shm companions. */
  files(): string[];
  cleanup(): Promise<void>;
}

export async function storageFixture(
  kind: 'sqlite' | 'postgres',
  databaseUrl = TEST_DATABASE_URL,
): Promise<StorageFixture> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-'));
  let pgSchema: string | undefined;
  if (kind === 'postgres') {
    pgSchema = `t_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE SCHEMA ${pgSchema}`, [], databaseUrl);
  }
  const masterKey = generateMasterKeyText();
  return {
    kind,
    dataDir,
    databaseUrl,
    pgSchema,
    masterKey,
    open: (overrides = {}) =>
      openStorage({
        kind,
        dataDir,
        databaseUrl,
        pgSchema,
        masterKeys: { key: masterKey, previous: [] },
        ...overrides,
      }),
    files: () => ['', '-wal', '-shm'].map((suffix) => `${sqliteFile(dataDir)}${suffix}`),
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      if (pgSchema) await adminQuery(`DROP SCHEMA ${pgSchema} CASCADE`, [], databaseUrl);
    },
  };
}

export async function adminQuery(
  sql: string,
  params: unknown[] = [],
  databaseUrl = TEST_DATABASE_URL,
): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The adapters to run storage suites against: PostgreSQL only where global setup found it. */
export const STORAGE_KINDS: Array<'sqlite' | 'postgres'> =
  process.env.TEST_PG === '1' ? ['sqlite', 'postgres'] : ['sqlite'];
