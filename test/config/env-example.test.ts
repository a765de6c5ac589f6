import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config';

const root = path.join(__dirname, '../..');
const example = readFileSync(path.join(root, '.env.example'), 'utf8');
const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('.env.example', () => {
  it('lists every variable the config reads, each with a comment above it', () => {
    const source = readFileSync(path.join(root, 'src/config/load-config.ts'), 'utf8');
    const read = [...source.matchAll(/^\s{4}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]);
    expect(read.length).toBeGreaterThan(10);
    expect(documented.sort()).toEqual([...read].sort());
    for (const name of documented) {
      const line = example.split('\n').findIndex((l) => l.startsWith(`${name}=`));
      expect(example.split('\n')[line - 1]).toMatch(/^# \S/);
    }
  });

  it('is a valid configuration as it stands', () => {
    const env = Object.fromEntries([...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(loadConfig(env).mode).toBe('sandbox');
  });

  it('is the only place outside config that reads process.env', () => {
    const offenders = sourceFiles(path.join(root, 'src'))
      .filter((f) => !f.endsWith(path.join('config', 'load-config.ts')) && !f.endsWith('main.ts'))
      .filter((f) => /process\.env/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
