const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevel = keyof typeof LEVELS;

/** How many of the app's warnings and errors a failing wait quotes. */
const KEPT = 10;

/**
 * Where the app under test logs: its warnings and errors are kept to explain a reply that never
 * came (an EGRESS_BLOCKED, a handler that threw), and lines at `show` or above go to stdout.
 */
export class AppLog {
  private readonly problems: string[] = [];

  constructor(private readonly show: LogLevel = 'silent') {}

  /** The level the app's logger needs: the more verbose of `show` and warn. */
  get level(): LogLevel {
    return LEVELS[this.show] < LEVELS.warn ? this.show : 'warn';
  }

  write(line: string): void {
    let entry: { level?: number; msg?: string; err?: { code?: string; message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const level = entry.level ?? 0;
    if (level >= LEVELS.warn) {
      const err = entry.err ? ` (${entry.err.code ?? 'error'}: ${entry.err.message ?? ''})` : '';
      this.problems.push(`${entry.msg ?? ''}${err}`);
      if (this.problems.length > KEPT) this.problems.shift();
    }
    if (level >= LEVELS[this.show]) process.stdout.write(line);
  }

  /** The app's latest warnings and errors, oldest first. */
  recentProblems(): readonly string[] {
    return this.problems;
  }
}
