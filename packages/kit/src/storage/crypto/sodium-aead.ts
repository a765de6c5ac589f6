import type { Sodium } from './sodium';

/** The parts of libsodium's compiled module this class calls (the same functions the wrappers call). */
interface LibsodiumModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_aead_xchacha20poly1305_ietf_encrypt(...args: number[]): number;
  _crypto_aead_xchacha20poly1305_ietf_decrypt(...args: number[]): number;
}

const KEY = 32;
const NONCE = 24;
const TAG = 16;

/**
 * libsodium's crypto_aead_xchacha20poly1305_ietf, called on one reused scratch area of its
 * WebAssembly memory. The wrapper functions allocate, copy and free every argument on every
 * call, which costs more than the cipher for a chat message; this calls the very same libsodium
 * functions without that. Output is byte-for-byte what the wrapper functions produce (a test
 * checks it). Plaintext is zeroed from the scratch area after each call; the last key used stays
 * there (it is in process memory anyway) until another key replaces it or `wipe` is called.
 */
export class SodiumAead {
  private readonly lib: LibsodiumModule;
  private base = 0;
  private capacity = 0;
  /** The key currently in the scratch area (reloaded when another key is used). */
  private loadedKey: Uint8Array | undefined;

  constructor(sodium: Sodium) {
    this.lib = (sodium as unknown as { libsodium: LibsodiumModule }).libsodium;
  }

  /** Writes ciphertext‖tag for `plaintext` into `out` at `offset` (plaintext.length + 16 bytes). */
  encryptInto(
    out: Uint8Array,
    offset: number,
    plaintext: Uint8Array,
    ad: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): void {
    const k = this.reserve(KEY + NONCE + ad.length + plaintext.length * 2 + TAG);
    const n = k + KEY;
    const a = n + NONCE;
    const m = a + ad.length;
    const c = m + plaintext.length;
    const heap = this.lib.HEAPU8;
    this.loadKey(heap, k, key);
    heap.set(nonce, n);
    heap.set(ad, a);
    heap.set(plaintext, m);
    // (c, clen_p, m, mlen (64-bit as low, high), ad, adlen (low, high), nsec, npub, k)
    const rc = this.lib._crypto_aead_xchacha20poly1305_ietf_encrypt(
      c,
      0,
      m,
      plaintext.length,
      0,
      a,
      ad.length,
      0,
      0,
      n,
      k,
    );
    const result = this.lib.HEAPU8;
    if (rc === 0) out.set(result.subarray(c, c + plaintext.length + TAG), offset);
    result.fill(0, m, c); // the plaintext; ciphertext, nonce and associated data are not secret
    if (rc !== 0) throw new Error('libsodium encryption failed');
  }

  /** The plaintext, or undefined when authentication fails (tampered, wrong key or associated data). */
  decrypt(sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    if (sealed.length < TAG) return undefined;
    const length = sealed.length - TAG;
    const k = this.reserve(KEY + NONCE + ad.length + sealed.length + length);
    const n = k + KEY;
    const a = n + NONCE;
    const c = a + ad.length;
    const m = c + sealed.length;
    const heap = this.lib.HEAPU8;
    this.loadKey(heap, k, key);
    heap.set(nonce, n);
    heap.set(ad, a);
    heap.set(sealed, c);
    // (m, mlen_p, nsec, c, clen (low, high), ad, adlen (low, high), npub, k)
    const rc = this.lib._crypto_aead_xchacha20poly1305_ietf_decrypt(
      m,
      0,
      0,
      c,
      sealed.length,
      0,
      a,
      ad.length,
      0,
      n,
      k,
    );
    const result = this.lib.HEAPU8;
    const plaintext = rc === 0 ? result.slice(m, m + length) : undefined;
    result.fill(0, m, m + length);
    return plaintext;
  }

  /** Zeroes the scratch area (the loaded key included): call when keys are destroyed. */
  wipe(): void {
    if (this.base) this.lib.HEAPU8.fill(0, this.base, this.base + this.capacity);
    this.loadedKey = undefined;
  }

  private loadKey(heap: Uint8Array, at: number, key: Uint8Array): void {
    if (this.loadedKey === key) return;
    heap.set(key, at);
    this.loadedKey = key;
  }

  private reserve(size: number): number {
    if (size > this.capacity) {
      if (this.base) {
        this.lib.HEAPU8.fill(0, this.base, this.base + this.capacity);
        this.lib._free(this.base);
      }
      this.capacity = Math.max(size, 8192);
      this.base = this.lib._malloc(this.capacity);
      this.loadedKey = undefined;
      if (!this.base) throw new Error('libsodium could not allocate memory');
    }
    return this.base;
  }
}
