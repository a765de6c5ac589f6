import { randomBytes } from 'node:crypto';
import { CodedError } from '../../errors';
import type { Sodium } from './sodium';
import { SodiumAead } from './sodium-aead';

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
  private readonly aead: SodiumAead;

  constructor(sodium: Sodium) {
    this.aead = new SodiumAead(sodium);
  }

  encrypt(ctx: FieldContext, plaintext: Uint8Array, keyIdHex: string, key: Uint8Array): Buffer {
    const nonce = this.nonces.next();
    const out = Buffer.allocUnsafe(HEADER + plaintext.length + 16);
    out[0] = FORMAT_VERSION;
    out.write(keyIdHex, 1, KEY_ID_BYTES, 'hex');
    out.set(nonce, 1 + KEY_ID_BYTES);
    this.aead.encryptInto(out, HEADER, plaintext, associatedData(ctx, keyIdHex), nonce, key);
    return out;
  }

  /** Forgets any key material held for speed (after keys are destroyed). */
  wipe(): void {
    this.aead.wipe();
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
    const plaintext = this.aead.decrypt(stored.subarray(HEADER), associatedData(ctx, keyIdHex), nonce, key);
    if (!plaintext) {
      throw new CodedError(
        'DECRYPT_FAILED',
        `cannot decrypt ${ctx.table}.${ctx.field} of record ${ctx.recordId}: authentication failed (tampered, moved to another row, or wrong key)`,
      );
    }
    return plaintext;
  }
}
