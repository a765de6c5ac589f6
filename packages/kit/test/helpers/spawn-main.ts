import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository: tsx reads tsconfig.json there to run the packages from source. */
export const REPO_ROOT = path.join(__dirname, '../../../..');
/** A fork's `src/main.ts` with the kit tests' bot. */
export const MAIN_CHILD = path.join(__dirname, '../fixtures/main-child.ts');

export interface MainProcess {
  child: ChildProcessWithoutNullStreams;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
  cleanup: () => void;
}

/**
 * Runs a fork's main (the kit's `runBot`) in a child process as `npm run start:built` would (no flags) or as `npm start`
 * does (`--sandbox-if-unconfigured`), with only the given environment (plus PATH) and its own
 * DATA_DIR, so nothing of the caller's environment or the repository's data leaks in.
 */
export function spawnMain(env: Record<string, string>, args: string[] = []): MainProcess {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-main-'));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN_CHILD, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, HTTP_PORT: '0', SANDBOX_PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    cleanup: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
