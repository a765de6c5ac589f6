/**
 * Rewrites the terms-to-controls table and the operator duties of docs/terms-matrix.md from
 * test/terms/terms-matrix.ts and a fresh run of the tests (`npm run compliance:docs`).
 * The rest of the page is prose and stays as it is.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TERMS_MATRIX } from '../test/terms/terms-matrix';

const root = path.join(__dirname, '..');
const docPath = path.join(root, 'docs/terms-matrix.md');
let table: string;
try {
  table = execFileSync('npx', ['tsx', 'scripts/compliance.ts', '--markdown'], {
    cwd: root,
    encoding: 'utf8',
  });
} catch (err) {
  // Exit status 1 still prints the table (with its FAIL rows, which the page then shows).
  table = (err as { stdout: string }).stdout;
}
const duties = TERMS_MATRIX.filter((r) => r.operator)
  .map((r) => `- **${r.clause}** — ${r.operator ?? ''}`)
  .join('\n');
const doc = readFileSync(docPath, 'utf8');
// The table runs from its header to the first line that is not a table row.
const tableStart = doc.indexOf('| clause | obligation |');
const tableEnd = tableStart < 0 ? -1 : endOfLines(doc, tableStart, (line) => line.startsWith('|'));
// The duties are the list that follows the "## Operator duties" heading.
const dutiesHeading = doc.indexOf('\n## Operator duties');
const dutiesStart = dutiesHeading < 0 ? -1 : doc.indexOf('\n- **', dutiesHeading) + 1;
const dutiesEnd = dutiesStart <= 0 ? -1 : endOfLines(doc, dutiesStart, (line) => line.startsWith('- **'));
if (tableStart < 0 || dutiesStart <= 0 || tableEnd > dutiesHeading)
  throw new Error('docs/terms-matrix.md: the matrix table or the operator duties list was not found');
writeFileSync(
  docPath,
  `${doc.slice(0, tableStart)}${table.trim()}\n${doc.slice(tableEnd, dutiesStart)}${duties}\n${doc.slice(dutiesEnd)}`,
);
process.stdout.write('docs/terms-matrix.md updated\n');

/** The offset just past the last of the consecutive lines from `start` that `keep` accepts. */
function endOfLines(text: string, start: number, keep: (line: string) => boolean): number {
  let at = start;
  while (at < text.length) {
    const next = text.indexOf('\n', at);
    const end = next < 0 ? text.length : next + 1;
    if (!keep(text.slice(at, end))) break;
    at = end;
  }
  return at;
}
