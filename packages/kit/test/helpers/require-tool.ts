import { execFileSync } from 'node:child_process';

/**
 * Finds an external tool for a test. Locally a missing tool skips the suite with a message;
 * under CI (CI set) it fails, because CI must prove what the tool checks.
 */
export function findTool(
  name: string,
  installHint: string,
): { path: string | undefined; describeIf: jest.Describe } {
  let found: string | undefined;
  try {
    found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    found = undefined;
  }
  if (!found && process.env.CI) {
    throw new Error(`${name} is required under CI but was not found. ${installHint}`);
  }
  if (!found) {
    process.stderr.write(`skipping tests that need ${name}: not installed (${installHint})\n`);
  }
  return { path: found, describeIf: found ? describe : describe.skip };
}
