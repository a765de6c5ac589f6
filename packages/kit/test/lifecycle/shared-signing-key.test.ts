import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCodedError } from '../../src/errors';
import { ReceiptSigner } from '../../src/lifecycle/receipt-signer';
import { checkSharedSigningKey } from '../../src/lifecycle/shared-signing-key';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { spawnMain } from '../helpers/spawn-main';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';

async function newKey(dir: string, name: string): Promise<{ file: string; publicKey: Uint8Array }> {
  const file = path.join(dir, name);
  return { file, publicKey: ReceiptSigner.fromFile(await loadSodium(), file).publicKey };
}

describe.each(STORAGE_KINDS)('one receipt signing key per database (%s)', (kind) => {
  let fx: StorageFixture;
  let keys: string;
  beforeEach(async () => {
    fx = await storageFixture(kind);
    keys = mkdtempSync(path.join(os.tmpdir(), 'cdbs-keys-'));
  });
  afterEach(async () => {
    rmSync(keys, { recursive: true, force: true });
    await fx.cleanup();
  });

  it('registers the first key, accepts it again, and refuses another with the fix', async () => {
    const a = await newKey(keys, 'a.key');
    const b = await newKey(keys, 'b.key');
    const storage = await fx.open();
    try {
      const db = storage.sql!.db;
      expect(await checkSharedSigningKey(db, a.publicKey, a.file)).toBe('registered');
      expect(await checkSharedSigningKey(db, a.publicKey, a.file)).toBe('matches');
      const refused = await checkSharedSigningKey(db, b.publicKey, b.file).catch((e: unknown) => e);
      expect(isCodedError(refused, 'CONFIG_INVALID')).toBe(true);
      expect((refused as Error).message).toContain(`RECEIPT_SIGNING_KEY_FILE (${b.file})`);
      expect((refused as Error).message).toContain(Buffer.from(a.publicKey).toString('base64'));
      expect((refused as Error).message).toContain('docs/deployment.md');
    } finally {
      await storage.close();
    }
  });
});

describe('an instance whose signing key differs from the registered one', () => {
  it('exits at start-up with one line naming RECEIPT_SIGNING_KEY_FILE', async () => {
    const first = spawnMain({ SANDBOX: '1', LOG_LEVEL: 'info' });
    const dataDir = /"dataDir":"([^"]+)"/;
    try {
      for (let i = 0; i < 300 && !/"msg":"app started"/.test(first.output()); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(first.output()).toMatch(/"receiptSigningKey":"registered"/);
      const dir = dataDir.exec(first.output())![1]!;
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      // The same database with another key, as an instance that generated its own would have.
      const other = mkdtempSync(path.join(os.tmpdir(), 'cdbs-keys-'));
      const replacement = await newKey(other, 'other.key');
      const second = spawnMain({
        SANDBOX: '1',
        DATA_DIR: dir,
        RECEIPT_SIGNING_KEY_FILE: replacement.file,
      });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(
        /^RECEIPT_SIGNING_KEY_FILE \(.*other\.key\) holds a receipt signing key other than/m,
      );
      second.cleanup();
      rmSync(other, { recursive: true, force: true });
    } finally {
      first.cleanup();
    }
  }, 60_000);
});
