import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startLifecyclePair } from '../helpers/lifecycle-pair';

const root = path.join(__dirname, '../..');
const certify = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/certify.ts'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });

describe('npm run certify', () => {
  it('writes a certificate of deletion that verifies, and fails verification with one byte altered', async () => {
    const p = await startLifecyclePair('sqlite');
    try {
      await p.storage.profiles.put('T1', { kind: 'visitor', id: 'V1' }, { name: 'Vee' });
      await p.sim.webhooks.send('data_deletion.requested', {
        team_id: 'T1',
        subject: { kind: 'visitor', id: 'V1' },
      });
      await p.sim.webhooks.send('api_access.terminated', { app_id: p.sim.options.appId });
      const deadline = Date.now() + 10_000;
      while (
        (await p.storage.sql!.db.all('SELECT job_id FROM receipts')).length < 2 &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const env = { STORAGE: 'sqlite', DATA_DIR: p.fx.dataDir, MASTER_KEY: p.fx.masterKey };
      const out = path.join(p.fx.dataDir, 'certificate.json');
      const made = certify(['certificate', '--out', out], env);
      expect(made.stderr).toMatch(/covering 2 receipts/);
      expect(made.status).toBe(0);
      const cert = readFileSync(out, 'utf8');
      expect(JSON.parse(JSON.parse(cert).document)).toMatchObject({
        api_access_terminated: true,
        audit_log: { entries: 2, intact: true },
      });

      const publicKey = certify(['public-key'], env).stdout.trim();
      const ok = certify(['verify', out, '--public-key', publicKey]);
      expect(ok.stdout).toMatch(/^VALID: clickdesk-bot-certificate-of-deletion with 2 receipts/);
      expect(ok.status).toBe(0);

      // One altered byte anywhere in the signed document: invalid.
      const parsed = JSON.parse(cert) as { document: string };
      const i = parsed.document.indexOf('"entries":2');
      const tampered = {
        ...JSON.parse(cert),
        document: `${parsed.document.slice(0, i)}"entries":3${parsed.document.slice(i + 11)}`,
      };
      writeFileSync(out, JSON.stringify(tampered));
      const bad = certify(['verify', out]);
      expect(bad.stdout).toMatch(/^INVALID: signature does not match/);
      expect(bad.status).toBe(1);

      // A single receipt verifies on its own too.
      const [receipt] = await p.storage.sql!.db.all<{ document: string }>('SELECT document FROM receipts');
      writeFileSync(out, receipt!.document);
      expect(certify(['verify', out, '--public-key', publicKey]).stdout).toMatch(
        /^VALID: clickdesk-bot-erasure-receipt/,
      );
    } finally {
      await p.stop();
    }
  });

  it('explains itself with --help', () => {
    expect(certify(['--help']).stdout).toMatch(/certificate[\s\S]*verify FILE[\s\S]*public-key/);
  });
});
