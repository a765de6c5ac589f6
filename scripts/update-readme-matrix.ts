/**
 * Rewrites the README's terms-to-controls table and operator duties from
 * test/compliance/terms-matrix.ts and a fresh run of the tests (`npm run compliance:readme`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TERMS_MATRIX } from '../test/terms/terms-matrix';

const root = path.join(__dirname, '..');
const readmePath = path.join(root, 'README.md');
let table: string;
try {
  table = execFileSync('npx', ['tsx', 'scripts/compliance.ts', '--markdown'], {
    cwd: root,
    encoding: 'utf8',
  });
} catch (err) {
  // Exit status 1 still prints the table (with its FAIL rows, which the README then shows).
  table = (err as { stdout: string }).stdout;
}
const duties = TERMS_MATRIX.filter((r) => r.operator)
  .map((r) => `- **${r.clause}** — ${r.operator ?? ''}`)
  .join('\n');
const readme = readFileSync(readmePath, 'utf8');
const tableStart = readme.indexOf('| clause | obligation |');
const tableEnd = readme.indexOf('\n## Operator duties');
const dutiesStart = readme.indexOf('- **', tableEnd);
const dutiesEnd = readme.indexOf('\n## ', dutiesStart);
if (tableStart < 0 || tableEnd < 0 || dutiesStart < 0 || dutiesEnd < 0)
  throw new Error('README sections not found');
writeFileSync(
  readmePath,
  `${readme.slice(0, tableStart)}${table.trim()}\n${readme.slice(tableEnd, dutiesStart)}${duties}\n${readme.slice(dutiesEnd)}`,
);
process.stdout.write('README matrix updated\n');
