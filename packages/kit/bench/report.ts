export interface BenchReport {
  name: string;
  rows: Array<{ label: string; value: number; ratio?: boolean }>;
  notes: string[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function formatReport(report: BenchReport): string {
  const width = Math.max(...report.rows.map((r) => r.label.length));
  const lines = report.rows.map((r) => {
    const v = r.ratio
      ? r.value.toFixed(2)
      : r.value >= 100
        ? Math.round(r.value).toLocaleString('en-US')
        : r.value.toFixed(1);
    return `  ${r.label.padEnd(width)}  ${v}`;
  });
  return [`== ${report.name}`, ...lines, ...report.notes.map((n) => `  (${n})`)].join('\n');
}
