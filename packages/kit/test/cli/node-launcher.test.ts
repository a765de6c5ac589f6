import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const LAUNCHER = path.join(__dirname, '../../bin/clickdesk-bot-node.js');

/**
 * What the launched node reports about itself: its V8 flags and the environment the kernel gave
 * it at exec (/proc/self/environ: what glibc's allocator read, not a later process.env change).
 */
const PROBE = `
const fs = require('node:fs');
const environ = fs.readFileSync('/proc/self/environ', 'utf8').split('\\0').filter(Boolean);
process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, environ }));
`;

interface Probe {
  pid: number;
  execArgv: string[];
  environ: string[];
}

function launch(args: string[], env: Record<string, string>): Probe {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`launcher exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

describe('clickdesk-bot-node (the launcher of npm start and npm run start:built)', () => {
  it('starts node with MALLOC_ARENA_MAX=2 in its initial environment, a 2 MB semi-space and a 256 MB old space', () => {
    const self = launch(['-e', PROBE], {});
    expect(self.environ).toContain('MALLOC_ARENA_MAX=2');
    expect(self.execArgv).toEqual(
      expect.arrayContaining(['--max-semi-space-size=2', '--max-old-space-size=256']),
    );
  });

  it('passes node flags and script arguments through unchanged', () => {
    const self = launch(['--no-warnings', '-e', PROBE, '--', 'x'], {});
    expect(self.execArgv).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--no-warnings']));
  });

  it('keeps what the operator set: MALLOC_ARENA_MAX from the environment, each V8 flag from NODE_OPTIONS or the arguments', () => {
    const fromEnv = launch(['-e', PROBE], {
      MALLOC_ARENA_MAX: '4',
      NODE_OPTIONS: '--max-semi-space-size=8 --max_old_space_size=1024',
    });
    expect(fromEnv.environ).toContain('MALLOC_ARENA_MAX=4');
    expect(fromEnv.execArgv.join(' ')).not.toMatch(/--max-semi-space-size|--max-old-space-size/);

    const fromArgs = launch(['--max-semi-space-size=16', '-e', PROBE], {});
    expect(fromArgs.execArgv.filter((a) => a.startsWith('--max-semi-space-size'))).toEqual([
      '--max-semi-space-size=16',
    ]);
    // Only the flag the operator gave is theirs: the other is still added.
    expect(fromArgs.execArgv).toContain('--max-old-space-size=256');
  });

  it('exits with the code of the app it started', () => {
    const r = spawnSync(process.execPath, [LAUNCHER, '-e', 'process.exit(3)'], { encoding: 'utf8' });
    expect(r.status).toBe(3);
  });

  it('hands SIGTERM to the app, which drains and exits 0: a supervisor stops it as it stops node', async () => {
    const app = `
      process.on('SIGTERM', () => { process.stdout.write('draining\\n'); setTimeout(() => process.exit(0), 50); });
      process.stdout.write('ready\\n');
      setInterval(() => undefined, 1000);
    `;
    const proc = spawn(process.execPath, [LAUNCHER, '-e', app], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('ready\n')) await new Promise((r) => setTimeout(r, 10));
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(out).toContain('draining');
    expect(code).toBe(0);
  });
});
