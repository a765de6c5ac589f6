import { randomBytes } from 'node:crypto';
import { CodedError } from '../../errors';
import type { Sodium } from './sodium';

/**
 * Field encryption (Terms 6.2): XChaCha20-Poly1305-IETF under a data key. The associated
 * data binds each ciphertext to its table, team, record, field and key, so a ciphertext moved
 * to another row, field or team fails to decrypt instead of yielding someone else's Data.
 *
 * Stored format: 0x01 | key id (16 bytes) | nonce (24 bytes) | ciphertext with 16-byte tag.
 * Associated data (UTF-8): "cdbs:v1|<table>|<team id>|<record id>|<field>|<key id hex>".
 */
export const FORMAT_VERSION = 1;
export const KEY_ID_BYTES = 16;
const NONCE_BYTES = 24;
const HEADER = 1 + KEY_ID_BYTES + NONCE_BYTES;

export interface FieldContext {
  table: string;
  teamId: string;
  recordId: string;
  field: string;
}

export function associatedData(ctx: FieldContext, keyIdHex: string): Buffer {
  return Buffer.from(`cdbs:v1|${ctx.table}|${ctx.teamId}|${ctx.recordId}|${ctx.field}|${keyIdHex}`, 'utf8');
}

/** Nonces come from the OS CSPRNG in blocks (one syscall per 256 nonces). */
class NoncePool {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): Buffer {
    if (this.offset + NONCE_BYTES > this.pool.length) {
      this.pool = randomBytes(NONCE_BYTES * 256);
      this.offset = 0;
    }
    const nonce = this.pool.subarray(this.offset, this.offset + NONCE_BYTES);
    this.offset += NONCE_BYTES;
    return nonce;
  }
}

export class FieldCipher {
  private readonly nonces = new NoncePool();

  constructor(private readonly sodium: Sodium) {}

  encrypt(ctx: FieldContext, plaintext: Uint8Array, keyIdHex: string, key: Uint8Array): Buffer {
    const nonce = this.nonces.next();
    const sealed = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      plaintext,
      associatedData(ctx, keyIdHex),
      null,
      nonce,
      key,
    );
    return Buffer.concat([Buffer.of(FORMAT_VERSION), Buffer.from(keyIdHex, 'hex'), nonce, sealed]);
  }

  /** The key id a stored value was encrypted under. */
  keyIdOf(stored: Uint8Array): string {
    if (stored.length < HEADER + 16 || stored[0] !== FORMAT_VERSION) {
      throw new CodedError(
        'DECRYPT_FAILED',
        'stored value is not in a known ciphertext format (corrupted or not encrypted)',
      );
    }
    return Buffer.from(stored.subarray(1, 1 + KEY_ID_BYTES)).toString('hex');
  }

  decrypt(ctx: FieldContext, stored: Uint8Array, key: Uint8Array): Uint8Array {
    const keyIdHex = this.keyIdOf(stored);
    const nonce = stored.subarray(1 + KEY_ID_BYTES, HEADER);
    try {
      return this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        stored.subarray(HEADER),
        associatedData(ctx, keyIdHex),
        nonce,
        key,
      );
    } catch (err) {
      throw new CodedError(
        'DECRYPT_FAILED',
        `cannot decrypt ${ctx.table}.${ctx.field} of record ${ctx.recordId}: authentication failed (tampered, moved to another row, or wrong key)`,
        { cause: err },
      );
    }
  }
}
