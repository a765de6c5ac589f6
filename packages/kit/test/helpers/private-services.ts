import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** A TCP port nobody listens on now. */
export async function sparePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** PostgreSQL's server binaries (Debian keeps them out of PATH), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => path.join(root, v, 'bin')).find((dir) => existsSync(path.join(dir, 'pg_ctl')));
}

/** Whether a private PostgreSQL can be run here: its binaries, and a `postgres` OS user to run them as root. */
export function privatePostgresProblem(): string | undefined {
  if (!postgresBinDir()) return 'PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['postgres'], { stdio: 'ignore' });
    } catch {
      return 'there is no postgres OS user to run initdb/pg_ctl as';
    }
  }
  return undefined;
}

/**
 * A PostgreSQL cluster of the test's own, on a spare port, in the system's temporary folder (the
 * postgres OS user cannot enter root's home). Trust authentication on 127.0.0.1.
 */
export class PrivatePostgres {
  readonly url: string;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-pg-'));
    chmodSync(dir, 0o777);
    const pg = new PrivatePostgres(dir, await sparePort());
    pg.run('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    pg.start();
    return pg;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  start(): void {
    this.pgCtl(['start', '-w', '-t', '30', '-l', path.join(this.dir, 'log')]);
  }

  /** `pg_ctl restart -m fast`: every connection is terminated (57P01), the server is back at once. */
  restart(): void {
    this.pgCtl(['restart', '-m', 'fast', '-w', '-t', '30', '-l', path.join(this.dir, 'log')]);
  }

  stop(): void {
    this.pgCtl(['stop', '-m', 'fast', '-w', '-t', '30']);
  }

  /**
   * `pg_ctl stop -m immediate`, a crash: no shutdown checkpoint, and the asynchronous commits the
   * WAL writer has not written yet are lost. It waits off the event loop, so an app in this
   * process lives through it (a paused child makes the postmaster wait 5 s, then SIGKILL it).
   */
  async crash(): Promise<void> {
    const [file, args] = this.command(
      'pg_ctl',
      this.pgCtlArgs(['stop', '-m', 'immediate', '-w', '-t', '30']),
    );
    await promisify(execFile)(file, args);
  }

  destroy(): void {
    try {
      this.pgCtl(['stop', '-m', 'immediate', '-w', '-t', '30']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pgCtl(args: string[]): void {
    this.run('pg_ctl', this.pgCtlArgs(args));
  }

  private pgCtlArgs(args: string[]): string[] {
    return [
      '-D',
      this.dataDir,
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      ...args,
    ];
  }

  private run(tool: string, args: string[]): void {
    const [file, argv] = this.command(tool, args);
    execFileSync(file, argv, { stdio: 'pipe' });
  }

  /** The tool run as the postgres OS user when the test runs as root (PostgreSQL refuses root). */
  private command(tool: string, args: string[]): [string, string[]] {
    const bin = path.join(postgresBinDir() ?? '', tool);
    return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  }
}

/** A redis-server of the test's own on a spare port, without persistence; SIGKILL and start it again. */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async create(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await sparePort());
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
    });
  }

  /** SIGKILL: no goodbye to its clients. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
