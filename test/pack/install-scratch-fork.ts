import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localSqlitePrebuild } from './local-sqlite-prebuild';

/** About 10 s with the SQLite prebuild; compiling SQLite instead takes about two and a half minutes. */
const INSTALL_TIMEOUT_MS = 240_000;

/** npm's own failures to fetch: the network or the cache, not the fork or the packages. */
const UNREACHABLE =
  /npm (?:error|ERR!) (?:code (?:ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|E5\d\d)\b|network )/;

/** What an enclosing `npm test` exported about the repository's own package and run. */
const ENCLOSING_NPM =
  /^(?:npm_package_|npm_lifecycle_|npm_config_local_prefix$|npm_config_allow_scripts$|INIT_CWD$)/;

export interface ScratchFork {
  readonly repoRoot: string;
  /** An empty folder outside the repository. */
  readonly dir: string;
  readonly kitTarball: string;
  readonly sandboxTarball: string;
  /** Where to leave the SQLite prebuild the install may use (see localSqlitePrebuild). */
  readonly prebuildDir: string;
}

export type InstallOutcome = { installed: true; ms: number } | { installed: false; reason: string };

type Manifest = Record<string, unknown> & {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/**
 * Lays out a fork in `fork.dir` as its owner would have it and runs `npm install` there: the kit
 * as a dependency and the sandbox as a devDependency, both from their tarballs; tsx and
 * typescript at the template's versions; the bot, its test and the tsconfigs from ./fork; the
 * template's own src/ under template/, to be type-checked against the published types.
 * Resolves `installed: false` only when npm could not fetch; throws on any other failure.
 */
export function installScratchFork(fork: ScratchFork): InstallOutcome {
  const template = readJson<{ devDependencies: Record<string, string> }>(fork.repoRoot, 'package.json');
  const atTemplateVersion = (name: string): string => {
    const range = template.devDependencies[name];
    if (range === undefined) throw new Error(`the template's package.json has no devDependency ${name}`);
    return range;
  };
  const manifest: Manifest = {
    name: 'scratch-fork',
    version: '0.0.0',
    private: true,
    dependencies: { '@clickdesk-bot/kit': `file:${fork.kitTarball}` },
    devDependencies: {
      '@clickdesk-bot/sandbox': `file:${fork.sandboxTarball}`,
      '@types/node': atTemplateVersion('@types/node'),
      tsx: atTemplateVersion('tsx'),
      typescript: atTemplateVersion('typescript'),
    },
    // better-sqlite3 compiles or unpacks its binary, esbuild (under tsx) checks its own.
    allowScripts: { 'better-sqlite3': true, esbuild: true },
  };
  writeJson(fork.dir, 'package.json', manifest);
  writeJson(fork.dir, 'package-lock.json', lockSeededFromRepo(fork.repoRoot, manifest));
  cpSync(path.join(__dirname, 'fork'), fork.dir, { recursive: true });
  cpSync(path.join(fork.repoRoot, 'src'), path.join(fork.dir, 'template', 'src'), { recursive: true });

  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !ENCLOSING_NPM.test(k))),
    ...localSqlitePrebuild(fork.repoRoot, fork.prebuildDir),
  };
  const started = performance.now();
  try {
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: fork.dir,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const { code, stdout = '', stderr = '' } = err as { code?: string; stdout?: string; stderr?: string };
    if (code === 'ENOENT') return { installed: false, reason: 'npm is not on the PATH' };
    const output = `${stdout}${stderr}`;
    const unreachable = UNREACHABLE.exec(output);
    if (unreachable) return { installed: false, reason: `npm could not fetch (${unreachable[0]})` };
    throw new Error(`npm install in the fork failed:\n${output.slice(-4_000)}`, { cause: err });
  }
  return { installed: true, ms: performance.now() - started };
}

/**
 * The repository's lock less its workspaces: the fork resolves the versions the repository is
 * tested with, all of them in npm's cache; npm adds the tarballs and drops what the fork lacks.
 */
function lockSeededFromRepo(repoRoot: string, manifest: Manifest): unknown {
  const lock = readJson<{ packages: Record<string, { link?: boolean }> }>(repoRoot, 'package-lock.json');
  const locked = Object.entries(lock.packages).filter(
    ([key, entry]) => key.startsWith('node_modules/') && !entry.link,
  );
  const { name, version, dependencies, devDependencies } = manifest;
  return {
    name,
    version,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name, version, dependencies, devDependencies }, ...Object.fromEntries(locked) },
  };
}

function readJson<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
}

function writeJson(dir: string, file: string, value: unknown): void {
  writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
}
