import type { MasterKeyGeneration } from '../storage/crypto/master-key-generations';
import type { JobProgress } from './lifecycle-jobs';

/** Receipts from version 2 on state the layers of the erasure. */
export const RECEIPT_VERSION = 2;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** What a receipt says about each layer, as signed: (a) and (b) reached, (c) what it waits on. */
export function describeLayers(p: JobProgress) {
  return {
    unreadable: {
      at: iso(p.unreadableAt),
      means:
        'the data keys are destroyed in the live database and dropped from the memory of every instance, and rows about the subject under other keys are deleted: nothing erased can be decrypted from the live database, even with the master key',
    },
    purged_from_engine: {
      at: iso(p.purgedAt),
      engine: p.purge?.engine ?? null,
      done: p.purge?.done ?? null,
      remains: p.purge?.remains ?? null,
    },
    irrecoverable_from_copies: {
      at: null,
      requires_retired_master_keys: p.generationsAtRisk ?? [],
      means:
        'copies made before the erasure (backups, WAL archives, replicas, snapshots) still hold the destroyed keys wrapped under these master keys; they become unreadable once every one is retired (npm run keys -- retire <id>) and its key material destroyed. npm run certify -- erasures shows when',
    },
  };
}

export interface ErasureLayers {
  jobId: string;
  event: string;
  unreadableAt: string | null;
  purgedAt: string | null;
  /** When the last master key it waited on was retired; null while any is live. */
  irrecoverableAt: string | null;
  /** Master keys still to retire before copies are unreadable. */
  waitingOn: string[];
}

export interface ReceiptDocument {
  job_id: string;
  event: string;
  version?: number;
  shredded_at?: number;
  finished_at?: number;
  layers?: ReturnType<typeof describeLayers>;
}

/**
 * Each erasure's layers from its signed receipt and the master-key generations as they are now.
 * Receipts before version 2 never stated layers (b) and (c): they show null there.
 */
export function layersOf(
  receipt: ReceiptDocument,
  generations: readonly MasterKeyGeneration[],
): ErasureLayers {
  const retired = new Map(generations.map((g) => [g.id, g.retiredAt]));
  const layers = receipt.layers;
  if (!layers) {
    return {
      jobId: receipt.job_id,
      event: receipt.event,
      unreadableAt: iso(receipt.shredded_at),
      purgedAt: null,
      irrecoverableAt: null,
      waitingOn: [],
    };
  }
  const required = layers.irrecoverable_from_copies.requires_retired_master_keys;
  const waitingOn = required.filter((id) => retired.get(id) === undefined);
  const times = required.map((id) => retired.get(id) ?? 0);
  return {
    jobId: receipt.job_id,
    event: receipt.event,
    unreadableAt: layers.unreadable.at,
    purgedAt: layers.purged_from_engine.at,
    irrecoverableAt: waitingOn.length === 0 ? iso(Math.max(0, ...times) || receipt.finished_at) : null,
    waitingOn,
  };
}

/** The receipt document inside a stored signed receipt (receipts.document). */
export function receiptDocumentOf(stored: string): ReceiptDocument {
  return JSON.parse((JSON.parse(stored) as { document: string }).document) as ReceiptDocument;
}
