import { existsSync } from 'node:fs';
import { describeError, isCodedError, type ErrorCode } from '../errors';
import type { BotDefinition, BotSettingsSchema } from './define-bot';
import { startApp, type RunningApp } from './start-app';

/** Start-up errors whose message already says what to fix. */
const EXPLAINED: ErrorCode[] = [
  'CLICKDESK_TERMINATED',
  'CONFIG_INVALID',
  'FAQ_INVALID',
  'MASTER_KEY_MISSING',
  'MASTER_KEY_INVALID',
  'MASTER_KEY_UNKNOWN',
  'PORT_IN_USE',
  'SANDBOX_MISSING',
];

const HELP = `Runs the ClickDesk bot.

  npm start                 sandbox mode when no ClickDesk credentials are set (the bundled simulator)
  npm start -- --reset      sandbox mode: erase the sandbox team and install the app again
  npm run start:built       the compiled app; never starts the simulator unasked (production)

Settings come from the environment and a .env file in the working directory (see .env.example).
SIGTERM or SIGINT stops intake, finishes running handlers within SHUTDOWN_TIMEOUT_MS, then exits.
`;

/**
 * The process around the app, for a fork's `src/main.ts`: reads `.env`, starts the app with the
 * bot, stops it gracefully on SIGTERM/SIGINT (a second signal exits at once), and turns start-up
 * failures into one line that says what to fix, with exit code 1.
 */
export function runBot<S extends BotSettingsSchema>(
  bot: BotDefinition<S>,
  argv = process.argv.slice(2),
): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  // A .env file in the working directory is read if present; the environment wins over it.
  if (existsSync('.env')) process.loadEnvFile('.env');
  let running: RunningApp | undefined;
  let stopping = false;
  const shutdown = (code: number): void => {
    stopping = true;
    void (running?.stop() ?? Promise.resolve()).then(
      () => (process.exitCode = code),
      (err: unknown) => {
        process.stderr.write(`Shutdown failed: ${describeError(err).message}\n`);
        process.exitCode = 1;
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        running?.logger.warn('second signal: exiting now');
        process.exit(130);
      }
      shutdown(0);
    });
  }
  startApp(bot, {
    sandboxIfUnconfigured: argv.includes('--sandbox-if-unconfigured'),
    reset: argv.includes('--reset'),
    onFatal: (err) => {
      running?.logger.fatal({ err: describeError(err) }, 'ClickDesk refused the app; shutting down');
      shutdown(1);
    },
  }).then(
    (app) => {
      running = app;
      if (app.sandbox) {
        process.stdout.write(
          `  Add another team: POST ${app.sandbox.url}/sandbox/teams {"name":"…"}, then ${app.url}/install\n`,
        );
        process.stdout.write(`\n  Chat with your bot as a visitor: ${app.sandbox.url}/visitor/\n\n`);
      }
      if (stopping) shutdown(0);
    },
    (err: unknown) => {
      const explained = isCodedError(err) && EXPLAINED.includes(err.code);
      process.stderr.write(
        explained ? `${err.message}\n` : `Start-up failed: ${describeError(err).message}\n`,
      );
      process.exit(1);
    },
  );
}
