/**
 * `npm run dead-letters -- <command>`: what the app could not do, for an operator.
 *   list [--limit N] [--json]      events whose handler kept failing, effects ClickDesk refused
 *   retry (--all | KIND ID)        put it back in line (handled / sent again)
 *   drop KIND ID                   give it up for good
 * KIND is `event` or `effect`. Prints ids and reasons only, never message text.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import type { DeadLetter } from '../core/dead-letters';
import { describeError } from '../errors';
import { SqlDeadLetters } from '../storage/sql/sql-dead-letters';
import { withSqlStorage } from './with-sql-storage';

const HELP = `Usage: npm run dead-letters -- <command> [options]

Commands:
  list [--limit N] [--json]  Show dead letters, oldest first (default limit 100): kind, id, team, reason, when.
  retry KIND ID              Put one back in line: an event is handled again by the next replay sweep
                             (within seconds), an effect is sent again (after a look at the history).
  retry --all                Put every dead letter back in line.
  drop KIND ID               Give one up for good (an event's id is kept, so a redelivery stays a duplicate).

KIND is "event" (its handler kept failing, or it could not be decrypted) or "effect" (a reply or
transfer ClickDesk refused for good, e.g. conversation_not_found). Dead letters keep their Data
encrypted and are erased with their subject. Reads the same environment as the app (STORAGE,
DATA_DIR, DATABASE_URL, MASTER_KEY…); safe while the app runs.
`;

const KINDS: ReadonlyArray<DeadLetter['kind']> = ['event', 'effect'];

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, kind, id] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const usage = (problem: string): number => {
    process.stderr.write(`${problem}\n\n${HELP}`);
    return 2;
  };
  if (!['list', 'retry', 'drop'].includes(command)) return usage(`unknown command "${command}"`);
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    return usage(`--limit must be a positive whole number (got "${values.limit}")`);
  const bulk = command === 'retry' && values.all === true;
  if (command !== 'list' && !bulk) {
    if (!kind || !KINDS.includes(kind as DeadLetter['kind']))
      return usage(`${command} needs KIND (event or effect) and ID${kind ? ` (got kind "${kind}")` : ''}`);
    if (!id) return usage(`${command} needs the ID of the ${kind}`);
  }

  return withSqlStorage(loadConfig(), async ({ ctx }) => {
    const store = new SqlDeadLetters(ctx);
    if (command === 'list') {
      const letters = await store.list(limit);
      if (values.json) process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
      else if (letters.length === 0) process.stdout.write('no dead letters\n');
      else
        for (const d of letters)
          process.stdout.write(
            `${d.kind}\t${d.id}\t${d.teamId}\t${d.reason}\t${new Date(d.at).toISOString()}\n`,
          );
      return 0;
    }
    if (bulk) {
      let count = 0;
      for (let batch = await store.list(500); batch.length > 0; batch = await store.list(500)) {
        for (const d of batch) if (await store.retry(d.kind, d.id)) count += 1;
      }
      process.stdout.write(`put ${count} dead letters back in line\n`);
      return 0;
    }
    const k = kind as DeadLetter['kind'];
    const done = command === 'retry' ? await store.retry(k, id!) : await store.drop(k, id!);
    if (!done) {
      process.stderr.write(`no dead ${k} with id "${id}" (see: npm run dead-letters -- list)\n`);
      return 1;
    }
    process.stdout.write(command === 'retry' ? `${k} ${id} put back in line\n` : `${k} ${id} dropped\n`);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dead-letters: ${describeError(err).message}\n`);
    process.exit(1);
  },
);
