/**
 * `npm run export-subject -- --team T --visitor V` (or --agent A): right of access. Prints, as
 * JSON, everything the app holds about that person, decrypted. Run it on the app's machine;
 * the output is personal data: hand it over through a secure channel.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { describeError } from '../errors';
import { exportSubject } from '../lifecycle/subject-export';
import { withSqlStorage } from './with-sql-storage';

const HELP = `Usage: npm run export-subject -- --team TEAM_ID (--visitor ID | --agent ID)

Prints everything stored about one person (profile, messages, conversations), decrypted, as JSON.
Reads the same environment as the app (STORAGE, DATA_DIR, DATABASE_URL, MASTER_KEY…).
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      team: { type: 'string' },
      visitor: { type: 'string' },
      agent: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.team || (values.visitor === undefined) === (values.agent === undefined)) {
    process.stderr.write(`give --team and exactly one of --visitor or --agent\n\n${HELP}`);
    return 2;
  }
  const subject =
    values.visitor !== undefined
      ? { kind: 'visitor' as const, id: values.visitor }
      : { kind: 'agent' as const, id: values.agent ?? '' };
  const team = values.team;
  return withSqlStorage(loadConfig(), async ({ ctx }) => {
    process.stdout.write(`${JSON.stringify(await exportSubject(ctx, team, subject), null, 2)}\n`);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`export-subject: ${describeError(err).message}\n`);
    process.exit(1);
  },
);
