/**
 * `npm run keys -- <command>`: master-key operations.
 *   generate [--out FILE]   print a new master key, or write it to FILE with mode 0600
 *   status                  count live data keys by the master key that wraps them
 *   rotate                  re-wrap every data key under the current master key (MASTER_KEY),
 *                           unwrapping with MASTER_KEY_PREVIOUS; safe while the app runs
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { describeError } from '../errors';
import { generateMasterKeyText } from '../storage/crypto/master-keys';
import { withSqlStorage } from './with-sql-storage';

const HELP = `Usage: npm run keys -- <command> [options]

Commands:
  generate [--out FILE]  Print a new master key (base64 of 32 random bytes), or write it to FILE (mode 0600).
  status                 Show how many live data keys each master key wraps.
  rotate                 Re-wrap every data key under the current master key, with progress.

Rotation, without downtime:
  1. npm run keys -- generate --out new.key
  2. Restart every instance with MASTER_KEY_FILE=new.key and MASTER_KEY_PREVIOUS=<the old key>:
     new data keys are wrapped with the new key, old ones still unwrap with the previous one.
  3. npm run keys -- rotate        (same environment; data itself is not re-encrypted)
  4. npm run keys -- status        (one master key left), then drop MASTER_KEY_PREVIOUS and restart.

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
  if (command !== 'status' && command !== 'rotate') {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
    return 2;
  }

  return withSqlStorage(loadConfig(), async ({ keys }) => {
    if (command === 'rotate') {
      const started = Date.now();
      const done = await keys.rewrap((count, remaining) => {
        process.stderr.write(`  re-wrapped ${count} data keys, ${remaining} to go\n`);
      });
      process.stdout.write(
        `re-wrapped ${done} data keys in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
    for (const s of await keys.wrapStatus()) {
      process.stdout.write(
        `master key ${s.masterKeyId}${s.current ? ' (current)' : ' (previous)'}: ${s.keys} data keys\n`,
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
