import { randomBytes } from 'node:crypto';
import { CodedError } from '../../errors';
import type { CryptoObserver } from './key-ring';
import type { MasterKey, MasterKeySet } from './master-keys';
import type { Sodium } from './sodium';

/** A `data_keys` row as far as wrapping is concerned. */
export interface WrappedKeyRow {
  key_id: string;
  team_id: string;
  scope: string;
  subject_ref: string;
  master_key_id: string | null;
  wrapped: Buffer | null;
}

type Identity = Pick<WrappedKeyRow, 'key_id' | 'team_id' | 'scope' | 'subject_ref'>;

const NONCE = 24;

/**
 * Wraps data keys under the current master key and unwraps them under whichever configured
 * master key wrapped them: nonce (24 bytes) ‖ crypto_aead_xchacha20poly1305_ietf, with associated
 * data binding the key to its row and its master key (docs/storage.md, on-disk format).
 */
export class KeyWrapper {
  constructor(
    private readonly masters: MasterKeySet,
    private readonly sodium: Sodium,
    private readonly observer: CryptoObserver = {},
  ) {}

  wrap(row: Identity, key: Uint8Array): Buffer {
    const master = this.masters.current;
    const nonce = randomBytes(NONCE);
    const sealed = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      key,
      wrapAd(row, master.id),
      null,
      nonce,
      master.key,
    );
    this.observer.operation?.('wrap', 'ok');
    return Buffer.concat([nonce, sealed]);
  }

  unwrap(row: WrappedKeyRow): Uint8Array {
    const master = this.master(row.master_key_id);
    const wrapped = row.wrapped ?? Buffer.alloc(0);
    try {
      const key = this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        wrapped.subarray(NONCE),
        wrapAd(row, master.id),
        wrapped.subarray(0, NONCE),
        master.key,
      );
      this.observer.operation?.('unwrap', 'ok');
      return key;
    } catch (err) {
      this.observer.operation?.('unwrap', 'failed');
      throw new CodedError(
        'DECRYPT_FAILED',
        `data key ${row.key_id} does not unwrap under master key ${master.id} (tampered)`,
        { cause: err },
      );
    }
  }

  private master(id: string | null): MasterKey {
    const found = [this.masters.current, ...this.masters.previous].find((m) => m.id === id);
    if (!found) {
      throw new CodedError(
        'MASTER_KEY_UNKNOWN',
        `a data key is wrapped by master key ${id ?? '(none)'}, which is not configured: add it to MASTER_KEY_PREVIOUS until "npm run keys -- rotate" has re-wrapped everything`,
      );
    }
    return found;
  }
}

function wrapAd(row: Identity, masterId: string): Buffer {
  return Buffer.from(
    `cdbs:dek:v1|${row.key_id}|${row.team_id}|${row.scope}|${row.subject_ref}|${masterId}`,
    'utf8',
  );
}
