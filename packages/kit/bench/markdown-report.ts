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
 * The benchmark figures as Markdown, with the machine, the date and the command that made them:
 * docs/benchmarks.md is this output, never typed by hand. Rewritten after each benchmark, so a
 * later one failing loses nothing. A run of some benchmarks (`--only`) replaces their sections
 * and keeps the others, each such section naming its own date and command.
 */
export function writeMarkdownReport(
  file: string,
  reports: readonly BenchReport[],
  args: readonly string[],
  partial = false,
): void {
  const command = `\`npm run bench --${args.length > 0 ? ` ${args.join(' ')}` : ''}\``;
  const date = new Date().toISOString().slice(0, 10);
  const written = new Map(
    reports.map((report) => {
      const lines = [`## ${report.name}`, '', '| measure | value |', '| --- | ---: |'];
      for (const row of report.rows) lines.push(`| ${cell(row.label)} | ${figure(row.value, row.ratio)} |`);
      lines.push('');
      const notes = partial ? [...report.notes, `this section: ${date}, ${command}`] : report.notes;
      for (const note of notes) lines.push(`- ${cell(note)}`);
      if (notes.length > 0) lines.push('');
      return [report.name, lines.join('\n')];
    }),
  );
  const kept = partial && existsSync(file) ? sections(readFileSync(file, 'utf8')) : undefined;
  if (kept) {
    // The earlier file's header and sections, in their order; this run's replace theirs or follow.
    const names = new Set(kept.sections.map((x) => x.name));
    const body = [
      ...kept.sections.map((x) => written.get(x.name) ?? x.text),
      ...[...written].filter(([name]) => !names.has(name)).map(([, text]) => text),
    ];
    writeFileSync(file, [kept.header, ...body].join('\n'));
    return;
  }
  const cpus = os.cpus();
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench -- --markdown docs/benchmarks.md`; do not edit by hand. Each figure',
    'is measured beside a baseline in the same run and reported with their ratio, because these',
    'machines are noisy: compare ratios across runs, not absolute figures. `npm run bench -- --help`',
    'says what each benchmark does and how to change its sizes.',
    '',
    `- Date: ${date}`,
    `- Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}`,
    `- Command: ${command}`,
    '',
  ];
  writeFileSync(file, [lines.join('\n'), ...written.values()].join('\n'));
}

/** A written report split at its `## ` headings: the header before them, then each section. */
function sections(text: string): { header: string; sections: Array<{ name: string; text: string }> } {
  const parts = text.split(/^(?=## )/m);
  // Each part ends with one newline, as written (the blank line between them is the join's).
  const header = parts[0]!.replace(/\n*$/, '\n');
  return {
    header,
    sections: parts.slice(1).map((part) => ({
      name: part.slice(3, part.indexOf('\n')).trim(),
      text: part.replace(/\n*$/, '\n'),
    })),
  };
}
