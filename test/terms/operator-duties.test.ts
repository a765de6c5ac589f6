import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TERMS_MATRIX } from './terms-matrix';

const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
const matrixDoc = readFileSync(path.join(__dirname, '../../docs/terms-matrix.md'), 'utf8');
const testRoot = path.join(__dirname, '../..');

describe('terms-to-controls matrix', () => {
  it('names only tests that exist', () => {
    const missing = TERMS_MATRIX.flatMap((row) =>
      row.tests
        .filter((t) => !readFileSync(path.join(testRoot, t.file), 'utf8').includes(t.title))
        .map((t) => `${row.clause}: ${t.file} › ${t.title}`),
    );
    expect(missing).toEqual([]);
  });

  it('gives every clause a test or an open issue', () => {
    expect(TERMS_MATRIX.filter((row) => row.tests.length === 0 && !row.pending)).toEqual([]);
  });

  it('carries every clause in the terms matrix doc', () => {
    const section = matrixDoc.slice(matrixDoc.indexOf('| clause | obligation |'));
    expect(section.length).toBeGreaterThan(100);
    for (const row of TERMS_MATRIX)
      expect(section).toMatch(new RegExp(`^\\| ${row.clause.replace(/\./g, '\\.')} \\|`, 'm'));
  });

  it('states every operator duty in the terms matrix doc', () => {
    const section = matrixDoc.slice(matrixDoc.indexOf('## Operator duties'));
    expect(section.length).toBeGreaterThan(100);
    for (const row of TERMS_MATRIX.filter((r) => r.operator)) expect(section).toContain(row.operator);
  });

  it('says the project is not affiliated with ClickDesk', () => {
    expect(readme).toMatch(/not affiliated with, endorsed by or sponsored by ClickDesk/);
  });
});
