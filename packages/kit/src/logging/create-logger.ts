import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. Contract for every caller: log ids, types, counts and error codes —
 * never tokens, secrets or anything a person wrote (message text, names, emails).
 * The redaction list is a second line of defence, not the first.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'text', '*.text', 'email', '*.email'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that discards everything: for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
