import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, run } from './podman';

/**
 * compose.yaml as podman-compose reads it, without running anything (`--dry-run up`): every
 * `podman run` it would issue, by service. Laid out in a temporary folder with its own `.env`
 * and key file, so a developer's `.env` is never touched.
 */
export async function composeDryRun(env: Record<string, string>): Promise<Record<string, string>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-compose-'));
  for (const part of ['compose.yaml', 'Dockerfile', 'deploy/compose', 'monitoring'])
    cpSync(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true });
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets/receipt-signing.key'), '');
  writeFileSync(
    path.join(dir, '.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const r = await runIn(dir, 'podman-compose', ['--dry-run', '-f', 'compose.yaml', 'up', '-d']);
  if (r.code !== 0) throw new Error(`podman-compose --dry-run up failed:\n${r.stderr}${r.stdout}`);
  const runs: Record<string, string> = {};
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    const service = /^podman run .*--label com\.docker\.compose\.service=(\S+)/.exec(line)?.[1];
    if (service) runs[service] = line;
  }
  return runs;
}

/** promtool's check of compose's Prometheus configuration with the project's rule files beside it. */
export async function promtoolCheck(): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-prom-'));
  cpSync(path.join(REPO_ROOT, 'deploy/compose/prometheus.yml'), path.join(dir, 'prometheus.yml'));
  cpSync(path.join(REPO_ROOT, 'monitoring/rules'), path.join(dir, 'rules'), { recursive: true });
  const r = await run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
  return { code: r.code, output: r.stdout + r.stderr };
}

function runIn(cwd: string, file: string, args: string[]) {
  return run('sh', ['-c', `cd "$1" && shift && exec "$@"`, 'sh', cwd, file, ...args]);
}
