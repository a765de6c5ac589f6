import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';

/** The repository: the build context. */
export const REPO_ROOT = path.join(__dirname, '../..');
/** Debian's runc: crun cannot set rlimits or cgroups on these machines (machine-notes). */
const RUNTIME = '/usr/sbin/runc';
const ENV = { ...process.env, CONTAINERS_CONF: path.join(__dirname, 'containers.conf') };

/** Why podman cannot run here, or undefined when it can. */
export function podmanMissing(): string | undefined {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'podman is not installed (apt-get install podman runc mmdebstrap podman-compose)';
  }
  try {
    execFileSync(RUNTIME, ['--version'], { stdio: 'ignore' });
  } catch {
    return `${RUNTIME} is not installed (apt-get install runc)`;
  }
  return undefined;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with the test's containers.conf; never throws for a non-zero exit. */
export function run(file: string, args: string[], timeoutMs = 15 * 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: REPO_ROOT, env: ENV, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `podman …` with Debian's runc; throws with podman's output when it fails. */
export async function podman(args: string[], timeoutMs?: number): Promise<string> {
  const r = await run('podman', ['--runtime', RUNTIME, ...args], timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** `podman …` that may fail: its exit code and output. */
export function podmanTry(args: string[], timeoutMs?: number): Promise<Run> {
  return run('podman', ['--runtime', RUNTIME, ...args], timeoutMs);
}
