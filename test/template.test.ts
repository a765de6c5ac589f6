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

  it('starts the compiled app with the young generation the image uses (--max-semi-space-size=2)', () => {
    expect(pkg.scripts['start:built']).toMatch(/^node --max-semi-space-size=2 dist\/src\/main\.js$/);
  });

  it('runs on the kit alone in production: the simulator is a devDependency', () => {
    expect(Object.keys(pkg.dependencies)).toEqual(['@clickdesk-bot/kit']);
  });
});
