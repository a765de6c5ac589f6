/**
 * `npm run keys -- <command>`: master-key operations.
 *   generate [--out FILE]   print a new master key, or write it to FILE with mode 0600
 *   status                  count live data keys by the master key that wraps them
 *   rotate                  re-wrap every data key under the current master key (MASTER_KEY),
 *                           unwrapping with MASTER_KEY_PREVIOUS; safe while the app runs
 *   retire ID               retire a master-key generation no data key is wrapped under any more
 *                           (signed audit entry); erasures before it then reach layer (c)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { describeError } from '../errors';
import { retireGeneration } from '../lifecycle/key-retirement';
import { ReceiptSigner } from '../lifecycle/receipt-signer';
import { listGenerations } from '../storage/crypto/master-key-generations';
import { generateMasterKeyText } from '../storage/crypto/master-keys';
import { loadSodium } from '../storage/crypto/sodium';
import { withSqlStorage } from './with-sql-storage';

const HELP = `Usage: npm run keys -- <command> [options]

Commands:
  generate [--out FILE]  Print a new master key (base64 of 32 random bytes), or write it to FILE (mode 0600).
  status                 Show each master-key generation: age, live data keys, retired or not.
  rotate                 Re-wrap every data key under the current master key, with progress.
  retire ID              Retire a master key no data key is wrapped under any more (refused
                         otherwise); records a signed audit entry. Then destroy that key
                         everywhere: copies of the database made while it was in use become
                         unreadable, and erasures before it become irrecoverable from copies.

Rotation, without downtime:
  1. npm run keys -- generate --out new.key
  2. Restart every instance with MASTER_KEY_FILE=new.key and MASTER_KEY_PREVIOUS=<the old key>:
     new data keys are wrapped with the new key, old ones still unwrap with the previous one.
  3. npm run keys -- rotate        (same environment; data itself is not re-encrypted)
  4. npm run keys -- status        (one master key left), then drop MASTER_KEY_PREVIOUS and restart.
  5. npm run keys -- retire <old id>, then destroy the old key and every copy of it.
  Do this at least every MASTER_KEY_MAX_AGE_DAYS (default 90).

Storage and keys come from the same environment as the app (STORAGE, DATA_DIR, DATABASE_URL,
MASTER_KEY or MASTER_KEY_FILE, MASTER_KEY_PREVIOUS); see .env.example.
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  if (command === 'generate') {
    const key = generateMasterKeyText();
    if (values.out) {
      writeFileSync(values.out, `${key}\n`, { mode: 0o600, flag: 'wx' });
      process.stdout.write(`wrote a new master key to ${values.out} (mode 0600)\n`);
    } else process.stdout.write(`${key}\n`);
    return 0;
  }
  if (command !== 'status' && command !== 'rotate' && command !== 'retire') {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const target = positionals[1];
  if (command === 'retire' && !target) {
    process.stderr.write('retire needs the id of a master key (see: npm run keys -- status)\n');
    return 2;
  }

  const config = loadConfig();
  return withSqlStorage(config, async ({ keys, db }) => {
    if (command === 'retire') {
      const signer = ReceiptSigner.fromFile(await loadSodium(), config.lifecycle.receiptSigningKeyFile);
      const outcome = await retireGeneration(db, signer, target ?? '', keys.currentMasterKeyId, Date.now());
      if (outcome.status === 'refused') {
        process.stderr.write(`refused: ${outcome.reason}\n`);
        return 1;
      }
      if (outcome.status === 'already_retired') {
        process.stdout.write(
          `master key ${target} was already retired on ${new Date(outcome.retiredAt).toISOString()}\n`,
        );
        return 0;
      }
      process.stdout.write(
        `retired master key ${target} (signed audit entry recorded); ${outcome.erasuresNowIrrecoverable.length} erasures are now irrecoverable from copies.\n` +
          'Now remove it from MASTER_KEY_PREVIOUS and destroy every copy of it (key files and their backups).\n',
      );
      return 0;
    }
    if (command === 'rotate') {
      const started = Date.now();
      const done = await keys.rewrap((count, remaining) => {
        process.stderr.write(`  re-wrapped ${count} data keys, ${remaining} to go\n`);
      });
      process.stdout.write(
        `re-wrapped ${done} data keys in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
    const maxAgeMs = config.storage.masterKeyMaxAgeDays * 86_400_000;
    for (const g of await listGenerations(db)) {
      const current = g.id === keys.currentMasterKeyId;
      const age = Date.now() - g.firstSeenAt;
      const state =
        g.retiredAt !== undefined
          ? `retired ${new Date(g.retiredAt).toISOString()}`
          : current
            ? 'current'
            : 'previous';
      if (g.retiredAt !== undefined && g.liveKeys === 0) {
        process.stdout.write(`master key ${g.id} (${state})\n`);
        continue;
      }
      process.stdout.write(
        `master key ${g.id} (${state}): ${g.liveKeys} data keys, in use for ${Math.floor(age / 86_400_000)} days${current && age > maxAgeMs ? ` — older than MASTER_KEY_MAX_AGE_DAYS (${config.storage.masterKeyMaxAgeDays}): rotate and retire it` : ''}\n`,
      );
    }
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`keys: ${describeError(err).message}\n`);
    process.exit(1);
  },
);
