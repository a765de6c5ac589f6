import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { StorageFixture } from './storage-fixtures';
import { TEST_DATABASE_URL } from './storage-fixtures';

/** A bot app in a child process (test/fixtures/crash-app-child.ts), SIGKILLed by its fault point or by the test. */
export interface AppChild {
  readonly process: ChildProcess;
  /** Resolves once the app is connected to the simulator. */
  readonly ready: Promise<void>;
  /** Resolves with the signal that ended it (SIGKILL for a fault point), or null on a clean exit. */
  readonly exited: Promise<NodeJS.Signals | null>;
  kill(): void;
}

export function startAppChild(
  fx: StorageFixture,
  simApiUrl: string,
  options: { instanceId: string; faultPoint?: string; leaseMs?: number },
): AppChild {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../fixtures/crash-app-child.ts')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        SIM_API_URL: simApiUrl,
        STORAGE: fx.kind,
        DATA_DIR: fx.dataDir,
        DATABASE_URL: TEST_DATABASE_URL,
        PG_SCHEMA: fx.pgSchema ?? '',
        MASTER_KEY: fx.masterKey,
        INSTANCE_ID: options.instanceId,
        LEASE_MS: String(options.leaseMs ?? 2_000),
        FAULT_POINT: options.faultPoint ?? '',
      },
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    void exited.then(() =>
      reject(new Error(`app child exited before it was ready (${options.faultPoint ?? 'no fault'})`)),
    );
  });
  ready.catch(() => undefined);
  return { process: child, ready, exited, kill: () => child.kill('SIGKILL') };
}
