import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const src = path.join(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('the environment', () => {
  it('is read only by the config loader and the start-up that hands it over', () => {
    const allowed = [path.join('config', 'load-config.ts'), path.join('start', 'start-app.ts')];
    const offenders = sourceFiles(src)
      .filter((f) => !allowed.some((a) => f.endsWith(a)))
      .filter((f) => /process\.env/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(src, f));
    expect(offenders).toEqual([]);
  });
});
