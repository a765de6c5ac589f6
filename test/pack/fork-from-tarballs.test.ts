import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../packages/kit/test/helpers/wait-for';
import { installScratchFork } from './install-scratch-fork';
import { packWorkspaces, type PackedPackage } from './pack-workspaces';
import { runCommand } from './run-command';

const root = path.join(__dirname, '../..');
const KIT = '@clickdesk-bot/kit';
const SANDBOX = '@clickdesk-bot/sandbox';
const SOURCES: Record<string, string> = {
  [KIT]: path.join(root, 'packages/kit'),
  [SANDBOX]: path.join(root, 'packages/sandbox'),
};
/** How many tests ./fork/test/bot.spec.ts holds. */
const FORK_TESTS = 2;

const timings: Record<string, number> = {};
const work = mkdtempSync(path.join(os.tmpdir(), 'clickdesk-fork-from-tarballs-'));
const forkDir = path.join(work, 'fork');
// Packing and installing happen while jest collects this file, because only then can it skip:
// locally, the fork's tests are skipped when npm cannot fetch; under CI that fails the suite.
const { packed, installed } = packAndInstall();

/** A fork's processes get only this environment: nothing of the repository's or the caller's settings. */
const forkEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir(), TMPDIR: os.tmpdir() };

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  const line = Object.entries(timings).map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`);
  process.stderr.write(`fork from tarballs: ${line.join(', ')}\n`);
});

describe('the tarballs of the kit and the sandbox', () => {
  it.each([KIT, SANDBOX])(
    '%s ships only its build, bin, package.json and docs: no sources, tests or benchmarks',
    (name) => {
      const shipped = [
        /^package\.json$/,
        /^(?:README|CHANGELOG)\.md$/,
        /^LICENSE(?:\.md)?$/,
        /^bin\/[^/]+\.js$/,
        /^dist\/src\/.+\.(?:js|js\.map|d\.ts)$/,
        /^dist\/src\/public\/[^/]+$/,
      ];
      expect(tarball(name).files.filter((f) => !shipped.some((re) => re.test(f)))).toEqual([]);
    },
  );

  it.each([KIT, SANDBOX])('%s ships the build of each current source and asset, nothing stale', (name) => {
    const src = path.join(SOURCES[name]!, 'src');
    const sources = listFiles(src)
      .filter((f) => !f.endsWith('.d.ts'))
      .map((f) => f.replace(/\.ts$/, '.js'));
    const compiled = tarball(name)
      .files.filter((f) => f.startsWith('dist/src/') && !f.endsWith('.map') && !f.endsWith('.d.ts'))
      .map((f) => f.slice('dist/src/'.length));
    expect(compiled.sort()).toEqual(sources.sort());
  });

  it('leaves the sandbox out of the kit but for an optional peer', () => {
    const manifest = readManifest(KIT);
    const installs = ['dependencies', 'devDependencies', 'optionalDependencies', 'bundleDependencies'];
    expect(installs.filter((field) => JSON.stringify(manifest[field] ?? null).includes(SANDBOX))).toEqual([]);
    expect(manifest.peerDependencies?.[SANDBOX]).toBeDefined();
    expect(manifest.peerDependenciesMeta?.[SANDBOX]).toEqual({ optional: true });
  });

  it.each([KIT, SANDBOX])(
    '%s requires at run time only its dependencies, peers and Node built-ins',
    (name) => {
      const { unpacked } = tarball(name);
      const manifest = readManifest(name);
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
        ...builtinModules,
      ]);
      const required = listFiles(unpacked)
        .filter((f) => f.endsWith('.js'))
        .flatMap((f) =>
          [
            ...readFileSync(path.join(unpacked, f), 'utf8').matchAll(/\brequire\((['"])([^'"./][^'"]*)\1\)/g),
          ].map((m) => ({ file: f, pkg: packageName(m[2]!) })),
        );
      expect(required.length).toBeGreaterThan(0);
      expect(required.filter((r) => !declared.has(r.pkg))).toEqual([]);
    },
  );
});

(installed ? describe : describe.skip)('a fork outside the repository, installed from the tarballs', () => {
  it('type-checks against the published types: under node10 (typesVersions) and node16 (exports) resolution', async () => {
    const tsc = path.join(forkDir, 'node_modules/typescript/bin/tsc');
    const runs = await Promise.all(
      ['tsconfig.node10.json', 'tsconfig.node16.json'].map((config) =>
        runCommand(process.execPath, [tsc, '-p', config], { cwd: forkDir, env: forkEnv, timeoutMs: 120_000 }),
      ),
    );
    timings['tsc (both at once)'] = Math.max(...runs.map((r) => r.ms));
    expect(runs).toMatchObject([
      { code: 0, output: '' },
      { code: 0, output: '' },
    ]);
  }, 150_000);

  it("passes its bot's test, written with the published test kit", async () => {
    const run = await runCommand(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/bot.spec.ts'],
      { cwd: forkDir, env: forkEnv, timeoutMs: 90_000 },
    );
    timings['bot test'] = run.ms;
    // The TAP summary: every test of the file passed, none failed.
    expect(run).toMatchObject({
      code: 0,
      output: expect.stringMatching(new RegExp(`^# pass ${FORK_TESTS}$`, 'm')),
    });
    expect(run.output).toMatch(/^# fail 0$/m);
  }, 120_000);

  it('starts like `npm start` does: sandbox mode loads the simulator package and serves the visitor page', async () => {
    const dataDir = path.join(work, 'data');
    mkdirSync(dataDir);
    const started = performance.now();
    // Through the kit's launcher, as the fork's `npm start` runs it (with the memory settings).
    const launcher = path.join(forkDir, 'node_modules/.bin/clickdesk-bot-node');
    const main = spawn(launcher, ['--import', 'tsx', 'src/main.ts', '--sandbox-if-unconfigured'], {
      cwd: forkDir,
      env: { ...forkEnv, DATA_DIR: dataDir, HTTP_PORT: '0', SANDBOX_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    main.stdout.on('data', (d: Buffer) => (output += d.toString()));
    main.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(main, 'exit');
    try {
      const visitorPage = /Chat with your bot as a visitor: (\S+)/;
      await waitFor(
        'the visitor page link',
        () => visitorPage.test(output) || main.exitCode !== null,
        30_000,
      );
      const url = visitorPage.exec(output)?.[1];
      if (url === undefined) throw new Error(`the fork did not start:\n${output}`);
      timings['npm start'] = performance.now() - started;

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/^<!doctype html>/i);
      expect((await fetch(new URL('visitor.js', url))).status).toBe(200);

      main.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (main.exitCode === null) main.kill('SIGKILL');
    }
  }, 60_000);

  it("runs the kit's operator tools through its bin", async () => {
    const bin = path.join(forkDir, 'node_modules/.bin/clickdesk-bot');
    const run = await runCommand(bin, ['keys', 'generate'], {
      cwd: forkDir,
      env: forkEnv,
      timeoutMs: 30_000,
    });
    expect(run).toMatchObject({ code: 0, output: expect.stringMatching(/^[A-Za-z0-9+/]{43}=\n$/) });
  }, 60_000);
});

/** Packs both packages, then installs a fork from the tarballs; says whether the fork installed. */
function packAndInstall(): { packed: Map<string, PackedPackage>; installed: boolean } {
  try {
    const packStarted = performance.now();
    const packed = packWorkspaces(root, [KIT, SANDBOX], path.join(work, 'tarballs'));
    timings.pack = performance.now() - packStarted;
    mkdirSync(forkDir);
    const outcome = installScratchFork({
      repoRoot: root,
      dir: forkDir,
      kitTarball: packed.get(KIT)!.tarball,
      sandboxTarball: packed.get(SANDBOX)!.tarball,
      prebuildDir: path.join(work, 'prebuilds'),
    });
    if (outcome.installed) {
      timings.install = outcome.ms;
    } else if (process.env.CI) {
      throw new Error(`CI must install a fork from the tarballs, but ${outcome.reason}`);
    } else {
      process.stderr.write(
        `skipping the fork's tests: ${outcome.reason}; they need the npm registry or a warm npm cache\n`,
      );
    }
    return { packed, installed: outcome.installed };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

function tarball(name: string): PackedPackage {
  const found = packed.get(name);
  if (!found) throw new Error(`npm pack made no tarball of ${name}`);
  return found;
}

type PackedManifest = Record<string, Record<string, unknown> | undefined> & {
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
};

function readManifest(name: string): PackedManifest {
  return JSON.parse(
    readFileSync(path.join(tarball(name).unpacked, 'package.json'), 'utf8'),
  ) as PackedManifest;
}

/** The files under `dir`, relative to it, with / separators. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/** `pkg/sub/path` → `pkg`, `@scope/pkg/sub` → `@scope/pkg`, `node:fs` → `fs`. */
function packageName(specifier: string): string {
  const bare = specifier.replace(/^node:/, '');
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}
