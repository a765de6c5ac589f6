import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
 * The benchmark figures as Markdown, each section with the date, machine and command that
 * measured it: docs/benchmarks.md is this output, never typed by hand. A run replaces the
 * sections of the benchmarks it ran and keeps the others (so `--only NAME` refreshes one
 * section); rewritten after each benchmark, so a later one failing loses nothing.
 */
export function writeMarkdownReport(
  file: string,
  reports: readonly BenchReport[],
  args: readonly string[],
): void {
  const cpus = os.cpus();
  const provenance = [
    `_Measured ${new Date().toISOString().slice(0, 10)} on ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}, by \`npm run bench --${args.length > 0 ? ` ${args.join(' ')}` : ''}\`._`,
    '',
  ];
  const sections = existingSections(file);
  for (const report of reports) {
    const lines = [`## ${report.name}`, '', ...provenance, '| measure | value |', '| --- | ---: |'];
    for (const row of report.rows) lines.push(`| ${cell(row.label)} | ${figure(row.value, row.ratio)} |`);
    lines.push('');
    for (const note of report.notes) lines.push(`- ${cell(note)}`);
    if (report.notes.length > 0) lines.push('');
    sections.set(report.name, lines.join('\n'));
  }
  const header = [
    '# Benchmarks',
    '',
    'Written by `npm run bench -- --markdown docs/benchmarks.md`; do not edit by hand. Each figure',
    'is measured beside a baseline in the same run and reported with their ratio, because these',
    'machines are noisy: compare ratios across runs, not absolute figures. `npm run bench -- --help`',
    'says what each benchmark does and how to change its sizes; `--only NAME` refreshes one section.',
    '',
  ];
  writeFileSync(file, [...header, ...sections.values()].join('\n'));
}

/**
 * The `## name` sections of an earlier report, in their order (none if there is no file). A
 * section from a report that gave one date, machine and command for the whole file gets them.
 */
function existingSections(file: string): Map<string, string> {
  const sections = new Map<string, string>();
  if (!existsSync(file)) return sections;
  const [head = '', ...parts] = readFileSync(file, 'utf8').split(/^(?=## )/m);
  const field = (name: string): string | undefined =>
    new RegExp(`^- ${name}:? (.+)$`, 'm').exec(head)?.[1]?.trim();
  const [date, machine, node, command] = ['Date', 'Machine', 'Node.js', 'Command'].map(field);
  const inherited =
    date && machine && node && command
      ? `_Measured ${date} on ${machine}, Node.js ${node}, by ${command}._`
      : undefined;
  for (const part of parts) {
    const eol = part.indexOf('\n');
    const name = part.slice(3, eol).trim();
    let text = part.replace(/\n+$/, '\n');
    if (inherited && !/^_Measured /m.test(text))
      text = `${part.slice(0, eol)}\n\n${inherited}${text.slice(eol)}`;
    sections.set(name, text);
  }
  return sections;
}
