import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { podman, podmanTry } from './podman';

/** A free TCP port on this machine (the containers share the host's network). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A receipt signing key file (libsodium's layout: seed then public key) the image's user can read. */
export function signingKeyFile(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const secret = Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-deploy-'));
  const file = path.join(dir, 'receipt-signing.key');
  writeFileSync(file, `${secret.toString('base64')}\n`, { mode: 0o400 });
  // The image's `node` user; the folder too, for a mount of the folder (a Secret volume's stand-in).
  chownSync(file, 1000, 1000);
  chownSync(dir, 1000, 1000);
  return file;
}

export const newMasterKey = (): string => randomBytes(32).toString('base64');

/** One app container on the host's network, named and ported for the test. */
export class AppContainer {
  constructor(
    readonly name: string,
    readonly httpPort: number,
    readonly healthPort: number,
  ) {}

  async run(image: string, env: Record<string, string>, keyFile: string): Promise<void> {
    await podmanTry(['rm', '--force', this.name]);
    await podman([
      'run',
      '--detach',
      '--name',
      this.name,
      '--network',
      'host',
      // The image's HEALTHCHECK runs when asked (`podman healthcheck run`): no systemd timers here.
      '--health-interval',
      'disable',
      '--volume',
      `${keyFile}:/run/secrets/receipt-signing.key:ro`,
      ...Object.entries({
        ...env,
        HTTP_PORT: String(this.httpPort),
        HEALTH_PORT: String(this.healthPort),
        INSTANCE_ID: this.name,
        RECEIPT_SIGNING_KEY_FILE: '/run/secrets/receipt-signing.key',
      }).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      image,
    ]);
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const status = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${await this.logs()}`);
  }

  logs(): Promise<string> {
    return podmanTry(['logs', this.name]).then((r) => r.stdout + r.stderr);
  }

  async exitCode(): Promise<number> {
    return Number(await podman(['inspect', '--format', '{{.State.ExitCode}}', this.name]));
  }

  /** Resident memory of the container's main process (Node), in MiB, read from the host. */
  async rssMiB(): Promise<number> {
    const pid = await podman(['inspect', '--format', '{{.State.Pid}}', this.name]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  }
}
