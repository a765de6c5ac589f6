import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { storageFixture } from '../helpers/storage-fixtures';

const root = path.join(__dirname, '../..');
const keys = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/keys.ts'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });

describe('npm run keys', () => {
  it('explains itself with --help', () => {
    const r = keys(['--help'], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/generate[\s\S]*status[\s\S]*rotate[\s\S]*without downtime/);
  });

  it('rejects an unknown command with usage', () => {
    const r = keys(['shred-everything'], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "shred-everything"/);
  });

  it('generates a key file with mode 0600, then rotates onto it with progress', async () => {
    const fx = await storageFixture('sqlite');
    try {
      const storage = await fx.open();
      for (let i = 0; i < 12; i++) {
        await storage.profiles.put('T1', { kind: 'visitor', id: `V${i}` }, { name: `Visitor ${i}` });
      }
      await storage.close();
      const keyFile = path.join(fx.dataDir, 'new.key');
      expect(keys(['generate', '--out', keyFile], {}).status).toBe(0);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(keyFile, 'utf8').trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);

      const env = {
        STORAGE: 'sqlite',
        DATA_DIR: fx.dataDir,
        MASTER_KEY_FILE: keyFile,
        MASTER_KEY_PREVIOUS: fx.masterKey,
      };
      const rotated = keys(['rotate'], env);
      expect(rotated.status).toBe(0);
      expect(rotated.stderr).toMatch(/re-wrapped \d+ data keys, 0 to go/);
      expect(rotated.stdout).toMatch(/re-wrapped 13 data keys/); // 12 visitors and the index key
      expect(rotated.stdout).toMatch(/\(current\): 13 data keys/);
      expect(rotated.stdout).not.toMatch(/previous/);

      // The old key alone no longer opens the store; the new one alone does.
      const after = await fx.open({ masterKeys: { key: readFileSync(keyFile, 'utf8'), previous: [] } });
      expect(await after.profiles.get('T1', { kind: 'visitor', id: 'V3' })).toEqual({ name: 'Visitor 3' });
      await after.close();
      const status = execFileSync(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'src/cli/keys.ts'), 'status'],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', ...env },
          encoding: 'utf8',
        },
      );
      expect(status).toMatch(/\(current\): 13 data keys/);
    } finally {
      await fx.cleanup();
    }
  });
});
