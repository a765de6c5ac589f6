import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : /\.ts$/.test(name) ? [full] : [];
  });
}

/** Every module a file imports or requires; a relative one as the repository path it names. */
function importsOf(dir: string): Array<{ file: string; target: string; relative: boolean }> {
  return sources(path.join(root, dir)).flatMap((file) =>
    [
      ...readFileSync(file, 'utf8').matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*)'([^']+)'/g),
    ].map((m) => {
      const spec = m[1] ?? '';
      const relative = spec.startsWith('.');
      const target = relative ? path.relative(root, path.resolve(path.dirname(file), spec)) : spec;
      return { file: path.relative(root, file), target, relative };
    }),
  );
}

/** Relative imports that leave `dir`. */
const escapes = (dir: string) => (i: { target: string; relative: boolean }) =>
  i.relative && !i.target.startsWith(`${dir}/`);

/** The dependency direction of the repository: the fork → the kit ← the simulator, never back. */
describe('the layers', () => {
  it('the kit imports neither the fork nor the simulator (sandbox mode loads it by name through its seam only)', () => {
    const kit = importsOf('packages/kit/src');
    expect(kit.filter(escapes('packages/kit/src'))).toEqual([]);
    expect(kit.filter((i) => i.target.startsWith('@clickdesk-bot/'))).toEqual([
      { file: 'packages/kit/src/sandbox-mode/sandbox-seam.ts', target: '@clickdesk-bot/sandbox', relative: false },
    ]);
  });

  it('the simulator reaches the kit only through its public API', () => {
    const sandbox = importsOf('packages/sandbox/src');
    expect(sandbox.filter(escapes('packages/sandbox/src'))).toEqual([]);
    expect(
      sandbox.filter((i) => i.target.startsWith('@clickdesk-bot/') && i.target !== '@clickdesk-bot/kit'),
    ).toEqual([]);
  });

  it("the fork's code and tests use only the packages' public entry points", () => {
    const fork = [
      ...importsOf('src'),
      ...importsOf('test').filter((i) => i.file === path.join('test', 'bot.test.ts')),
    ];
    expect(fork.filter((i) => i.relative && !i.target.startsWith('src/'))).toEqual([]);
    expect(
      fork.filter(
        (i) =>
          i.target.startsWith('@clickdesk-bot/') &&
          !['@clickdesk-bot/kit', '@clickdesk-bot/sandbox/testing'].includes(i.target),
      ),
    ).toEqual([]);
  });
});
