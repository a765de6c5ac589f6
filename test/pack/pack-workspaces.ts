import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** Building both packages (their `prepack`) takes about 20 s. */
const PACK_TIMEOUT_MS = 180_000;

export interface PackedPackage {
  /** The .tgz a registry would hold. */
  readonly tarball: string;
  /** The paths in the tarball, relative to the package's folder. */
  readonly files: readonly string[];
  /** The tarball unpacked: the package's folder as an install gets it. */
  readonly unpacked: string;
}

/**
 * `npm pack` of the named workspaces into `dest`, run from the repository's root as a release
 * would (each `prepack` builds its package), each tarball also unpacked there.
 */
export function packWorkspaces(
  repoRoot: string,
  names: readonly string[],
  dest: string,
): Map<string, PackedPackage> {
  mkdirSync(dest, { recursive: true });
  const args = ['pack', '--json', ...names.flatMap((n) => ['--workspace', n]), '--pack-destination', dest];
  let json: string;
  try {
    json = execFileSync('npm', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: PACK_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
  const packed = JSON.parse(json) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>;
  return new Map(
    packed.map((p) => {
      const tarball = path.join(dest, p.filename);
      const into = path.join(dest, path.basename(p.filename, '.tgz'));
      mkdirSync(into);
      execFileSync('tar', ['-xzf', tarball, '-C', into]);
      const files = p.files.map((f) => f.path);
      return [p.name, { tarball, files, unpacked: path.join(into, 'package') }];
    }),
  );
}
