import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchReport } from './report';

/** Where `--markdown FILE` writes: relative to where `npm run bench` was typed (npm's INIT_CWD). */
export function markdownPath(file: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

const figure = (value: number, ratio: boolean | undefined): string =>
  ratio ? value.toFixed(2) : value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/**
 * The benchmark figures as Markdown, with the machine, the date and the command that made them:
 * docs/benchmarks.md is this output, never typed by hand. Rewritten after each benchmark, so a
 * later one failing loses nothing.
 */
export function writeMarkdownReport(
  file: string,
  reports: readonly BenchReport[],
  args: readonly string[],
): void {
  const cpus = os.cpus();
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench -- --markdown docs/benchmarks.md`; do not edit by hand. Each figure',
    'is measured beside a baseline in the same run and reported with their ratio, because these',
    'machines are noisy: compare ratios across runs, not absolute figures. `npm run bench -- --help`',
    'says what each benchmark does and how to change its sizes.',
    '',
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}`,
    `- Command: \`npm run bench --${args.length > 0 ? ` ${args.join(' ')}` : ''}\``,
    '',
  ];
  for (const report of reports) {
    lines.push(`## ${report.name}`, '', '| measure | value |', '| --- | ---: |');
    for (const row of report.rows) lines.push(`| ${cell(row.label)} | ${figure(row.value, row.ratio)} |`);
    lines.push('');
    for (const note of report.notes) lines.push(`- ${cell(note)}`);
    if (report.notes.length > 0) lines.push('');
  }
  writeFileSync(file, lines.join('\n'));
}
