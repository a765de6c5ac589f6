import { spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when a signal (the timeout's included) ended the command. */
  readonly code: number | null;
  /** stdout and stderr together, as they came. */
  readonly output: string;
  readonly ms: number;
}

/** Runs a command to its end; resolves with its exit code and output whatever the code. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: performance.now() - started }));
  });
}
