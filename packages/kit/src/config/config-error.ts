import type { z } from 'zod';
import { CodedError } from '../errors';

/** Environment variables as given; the app's and a bot's settings are read from one. */
export type Env = Record<string, string | undefined>;

/** An empty value counts as unset, as it does in most .env tooling. */
export const cleanEnv = (env: Env): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );

/** A configuration that stops start-up: one line per variable at fault, and how to fix them. */
export class ConfigError extends CodedError {
  constructor(readonly problems: readonly string[]) {
    super(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.join('\n')}\nFix these variables in the environment or .env (see .env.example).`,
    );
  }

  /** The app's and the bot's problems in one message, so one start names them all. */
  static merge(errors: readonly ConfigError[]): ConfigError {
    return new ConfigError(errors.flatMap((e) => e.problems));
  }
}

/** One message naming each variable at fault, what is wrong, and (unless secret) what was given. */
export function configError(issues: readonly z.core.$ZodIssue[], given: Record<string, string>): ConfigError {
  return new ConfigError(
    issues.map((i) => {
      const name = String(i.path[0] ?? 'environment');
      const value = given[name];
      const shown =
        value !== undefined && !/TOKEN|SECRET|KEY|TEXT|PASSWORD/.test(name) ? ` (got "${value}")` : '';
      return `  ${name}: ${i.message}${shown}`;
    }),
  );
}
