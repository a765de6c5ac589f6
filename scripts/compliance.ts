/**
 * `npm run compliance`: runs the tests named in the terms-to-controls matrix and prints, per
 * clause, its control and whether its tests pass. Exit status 1 if any named test fails or is
 * missing; clauses still waiting for an issue are listed as PENDING.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TERMS_MATRIX } from '../test/terms/terms-matrix';

const HELP = `Usage: npm run compliance -- [--markdown]

Runs the tests that prove each clause of ClickDesk's API terms and prints the matrix
(clause, obligation, control, tests, result). --markdown prints it as the table of
docs/terms-matrix.md instead (npm run compliance:docs writes it there).
`;

interface JestResult {
  testResults: Array<{ name: string; assertionResults: Array<{ title: string; status: string }> }>;
}

function main(): number {
  const { values } = parseArgs({
    options: { markdown: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const root = path.join(__dirname, '..');
  const files = [...new Set(TERMS_MATRIX.flatMap((r) => r.tests.map((t) => t.file)))];
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'compliance-')), 'results.json');
  process.stderr.write(`running ${files.length} test files…\n`);
  spawnSync('npx', ['jest', '--silent', '--json', `--outputFile=${out}`, ...files], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const results = JSON.parse(readFileSync(out, 'utf8')) as JestResult;

  const status = (file: string, title: string): string => {
    const suite = results.testResults.find((s) => s.name.endsWith(file));
    return suite?.assertionResults.find((a) => a.title === title)?.status ?? 'missing';
  };
  let failed = 0;
  const rows = TERMS_MATRIX.map((row) => {
    const outcomes = row.tests.map((t) => status(t.file, t.title));
    const ok = outcomes.length > 0 && outcomes.every((o) => o === 'passed');
    const result = row.pending && !ok ? 'PENDING' : ok ? 'PASS' : 'FAIL';
    if (result === 'FAIL' || outcomes.some((o) => o !== 'passed')) failed += 1;
    return { ...row, result, testsText: row.tests.map((t) => `${t.file} › ${t.title}`).join('; ') };
  });

  if (values.markdown) {
    process.stdout.write('| clause | obligation | control | proved by | result |\n|---|---|---|---|---|\n');
    for (const r of rows) {
      const control = r.operator
        ? `${r.control}. **Operator:** ${r.operator}`
        : r.pending
          ? `${r.control} (*${r.pending}*)`
          : r.control;
      const tests = r.tests.map((t) => `\`${t.file}\` › ${t.title}`).join('<br>') || '—';
      process.stdout.write(`| ${r.clause} | ${r.obligation} | ${control} | ${tests} | ${r.result} |\n`);
    }
  } else {
    for (const r of rows) {
      process.stdout.write(
        `${r.result.padEnd(8)} ${r.clause.padEnd(6)} ${r.obligation}\n         control: ${r.control}\n`,
      );
      if (r.operator) process.stdout.write(`         operator: ${r.operator}\n`);
      if (r.pending) process.stdout.write(`         pending: ${r.pending}\n`);
      if (r.testsText) process.stdout.write(`         tests: ${r.testsText}\n`);
    }
    const count = (s: string) => rows.filter((r) => r.result === s).length;
    process.stdout.write(
      `\n${count('PASS')} clauses pass, ${count('FAIL')} fail, ${count('PENDING')} pending\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = main();
