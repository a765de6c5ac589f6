import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const BINARY = 'build/Release/better_sqlite3.node';

/**
 * better-sqlite3 as the repository's own install compiled it, offered to another install as a
 * prebuild-install "local prebuild" (`better_sqlite3_local_prebuilds`): that install runs the
 * package's install script as usual, finds the prebuild instead of downloading one (unreachable
 * here), loads it to check it, and skips compiling SQLite (two minutes). Returns the environment
 * that points an install at it: empty when the repository has no build, and then the install
 * compiles from source. A prebuild for another version or Node ABI is not picked up by name.
 */
export function localSqlitePrebuild(repoRoot: string, dir: string): Record<string, string> {
  const pkgDir = path.join(repoRoot, 'node_modules', 'better-sqlite3');
  if (!existsSync(path.join(pkgDir, BINARY))) return {};
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  // prebuild-install's name: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}, libc empty but on musl.
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-czf', path.join(dir, name), '-C', pkgDir, BINARY]);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}
