import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

describe('the template', () => {
  it('gives the sandbox flag to `npm start` only, not to `npm run start:built` (production never starts the simulator unasked)', () => {
    expect(pkg.scripts.start).toContain('--sandbox-if-unconfigured');
    expect(pkg.scripts['start:built']).not.toMatch(/sandbox/i);
  });

  it('starts the app, from source or compiled, through the kit launcher that applies the memory settings', () => {
    expect(pkg.scripts.start).toMatch(/^clickdesk-bot-node --import tsx src\/main\.ts /);
    expect(pkg.scripts['start:built']).toBe('clickdesk-bot-node dist/src/main.js');
  });

  it('gives the scripts a launcher that starts node with MALLOC_ARENA_MAX=2, a 2 MB semi-space and a 256 MB old space', () => {
    const probe =
      "process.stdout.write(JSON.stringify({ execArgv: process.execArgv, environ: require('node:fs').readFileSync('/proc/self/environ', 'utf8').split('\\0') }))";
    const bin = path.join(root, 'node_modules', '.bin', 'clickdesk-bot-node');
    const r = spawnSync(bin, ['-e', probe], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const self = JSON.parse(r.stdout) as { execArgv: string[]; environ: string[] };
    expect(self.environ).toContain('MALLOC_ARENA_MAX=2');
    expect(self.execArgv).toEqual(
      expect.arrayContaining(['--max-semi-space-size=2', '--max-old-space-size=256']),
    );
  });

  it('sets the same memory settings in the image, which starts node directly', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^\s+MALLOC_ARENA_MAX=2\b/m);
    expect(runtime).toMatch(/^\s+NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256"$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });

  it('runs on the kit alone in production: the simulator is a devDependency', () => {
    expect(Object.keys(pkg.dependencies)).toEqual(['@clickdesk-bot/kit']);
  });
});
