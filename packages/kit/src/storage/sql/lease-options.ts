import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';

/** Who holds leases, and for how long one lasts without a heartbeat. */
export interface LeaseOptions {
  /**
   * Stable across restarts and unique among running instances: a restarted instance takes its
   * own leases back at once instead of waiting for them to run out.
   */
  readonly instanceId: string;
  /** A lease not renewed for this long is taken over (the instance is presumed dead). */
  readonly leaseMs: number;
}

export const DEFAULT_LEASE_MS = 15_000;

/**
 * Without INSTANCE_ID: with SQLite (one process per database file) the host and data folder
 * identify the instance across restarts; with PostgreSQL several instances may share a host
 * and folder, so each process gets its own id and a restart waits for its old leases to end.
 */
export function defaultInstanceId(kind: 'sqlite' | 'postgres', dataDir: string): string {
  if (kind === 'sqlite') {
    const dir = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
    return `${os.hostname()}:${dir}`;
  }
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
