import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { verifyAudit } from '../../src/lifecycle/audit-log';
import { parseMasterKey } from '../../src/storage/crypto/master-keys';
import { startLifecyclePair } from '../helpers/lifecycle-pair';
import { storageFixture } from '../helpers/storage-fixtures';
import { sleep } from '../helpers/wait-for';

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
    expect(r.stdout).toMatch(/generate[\s\S]*status[\s\S]*rotate[\s\S]*retire ID[\s\S]*without downtime/);
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
      expect(rotated.stdout).toMatch(/\(previous\): 0 data keys/);

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

  it('retires the old master key only once nothing is wrapped under it; certify then shows the erasure irrecoverable from copies', async () => {
    const p = await startLifecyclePair('sqlite');
    const certify = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/certify.ts'), ...args], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      });
    try {
      await p.storage.profiles.put('T1', { kind: 'visitor', id: 'V1' }, { name: 'Vee' });
      await p.sim.webhooks.send('data_deletion.requested', {
        team_id: 'T1',
        subject: { kind: 'visitor', id: 'V1' },
      });
      while ((await p.storage.sql!.db.all('SELECT job_id FROM receipts')).length === 0) await sleep(20);
      const oldId = parseMasterKey(p.fx.masterKey, 'old').id;
      const base = { STORAGE: 'sqlite', DATA_DIR: p.fx.dataDir };

      const before = certify(['erasures'], { ...base, MASTER_KEY: p.fx.masterKey });
      expect(before.status).toBe(0);
      expect(before.stdout).toMatch(/\(a\) unreadable in the live database: +\d{4}-\d\d-\d\dT/);
      expect(before.stdout).toMatch(/\(b\) purged from the database engine: +\d{4}-\d\d-\d\dT/);
      expect(before.stdout).toContain(
        `(c) irrecoverable from copies:         not yet: retire master key ${oldId}`,
      );

      const keyFile = path.join(p.fx.dataDir, 'new.key');
      expect(keys(['generate', '--out', keyFile], {}).status).toBe(0);
      const newId = parseMasterKey(readFileSync(keyFile, 'utf8'), 'new').id;
      const rotating = { ...base, MASTER_KEY_FILE: keyFile, MASTER_KEY_PREVIOUS: p.fx.masterKey };
      const early = keys(['retire', oldId], rotating);
      expect(early.status).toBe(1);
      expect(early.stderr).toMatch(/refused: \d+ data keys are still wrapped under .*keys -- rotate/);
      const current = keys(['retire', newId], rotating);
      expect(current.status).toBe(1);
      expect(current.stderr).toMatch(/is the current master key/);
      expect(keys(['retire'], rotating).status).toBe(2);

      expect(keys(['rotate'], rotating).status).toBe(0);
      const retired = keys(['retire', oldId], rotating);
      expect(retired.stderr).toBe('');
      expect(retired.status).toBe(0);
      expect(retired.stdout).toMatch(
        /retired master key \w+ \(signed audit entry recorded\); 1 erasures are now irrecoverable/,
      );
      const audit = await verifyAudit(p.storage.sql!.db);
      expect(audit.valid).toBe(true);
      const [last] = await p.storage.sql!.db.all<{ entry: string }>(
        'SELECT entry FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      expect(JSON.parse(last!.entry)).toMatchObject({ action: 'master_key_retired', master_key_id: oldId });

      const after = { ...base, MASTER_KEY_FILE: keyFile };
      const shown = certify(['erasures'], after);
      expect(shown.stdout).toMatch(/\(c\) irrecoverable from copies: +\d{4}-\d\d-\d\dT/);
      expect(keys(['status'], after).stdout).toMatch(new RegExp(`master key ${oldId} \\(retired \\d{4}`));
      const cert = certify(['certificate'], after);
      const doc = JSON.parse(JSON.parse(cert.stdout).document);
      expect(doc.master_key_retirements).toHaveLength(1);
      expect(JSON.parse(doc.master_key_retirements[0].document)).toMatchObject({
        kind: 'clickdesk-bot-master-key-retirement',
        master_key_id: oldId,
      });
      expect(doc.erasure_layers[0].irrecoverableAt).toEqual(expect.any(String));
    } finally {
      await p.stop();
    }
  });
});
