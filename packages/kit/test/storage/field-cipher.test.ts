import { randomBytes } from 'node:crypto';
import { associatedData, FieldCipher, KEY_ID_BYTES } from '../../src/storage/crypto/field-cipher';
import { loadSodium } from '../../src/storage/crypto/sodium';
import { SodiumAead } from '../../src/storage/crypto/sodium-aead';

/** The on-disk format is plain libsodium: anything that speaks crypto_aead_xchacha20poly1305_ietf reads it. */
describe('field cipher format', () => {
  it('produces exactly what libsodium-wrappers produces for the same inputs', async () => {
    const sodium = await loadSodium();
    const aead = new SodiumAead(sodium);
    for (const size of [0, 1, 130, 5000, 70_000]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const ad = randomBytes(40);
      const plaintext = randomBytes(size);
      const out = new Uint8Array(size + 16);
      aead.encryptInto(out, 0, plaintext, ad, nonce, key);
      expect(Buffer.from(out)).toEqual(
        Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key)),
      );
      expect(Buffer.from(aead.decrypt(out, ad, nonce, key)!)).toEqual(plaintext);
    }
  });

  it('is decrypted by the standard libsodium call given the documented layout and associated data', async () => {
    const sodium = await loadSodium();
    const cipher = new FieldCipher(sodium);
    const key = randomBytes(32);
    const keyId = randomBytes(16).toString('hex');
    const ctx = { table: 'messages', teamId: 'T1', recordId: 'Ev1', field: 'body' };
    const stored = cipher.encrypt(ctx, Buffer.from('{"text":"hi"}'), keyId, key);

    // 0x01 | key id (16) | nonce (24) | ciphertext+tag; AD = cdbs:v1|table|team|record|field|keyid
    expect(stored[0]).toBe(1);
    expect(stored.subarray(1, 1 + KEY_ID_BYTES).toString('hex')).toBe(keyId);
    const nonce = stored.subarray(17, 41);
    const ad = Buffer.from(`cdbs:v1|messages|T1|Ev1|body|${keyId}`);
    expect(associatedData(ctx, keyId)).toEqual(ad);
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      stored.subarray(41),
      ad,
      nonce,
      key,
    );
    expect(Buffer.from(plain).toString()).toBe('{"text":"hi"}');
  });

  it('never reuses a nonce', async () => {
    const cipher = new FieldCipher(await loadSodium());
    const key = randomBytes(32);
    const keyId = randomBytes(16).toString('hex');
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const stored = cipher.encrypt(
        { table: 't', teamId: 'T', recordId: String(i), field: 'f' },
        Buffer.from('x'),
        keyId,
        key,
      );
      nonces.add(stored.subarray(17, 41).toString('hex'));
    }
    expect(nonces.size).toBe(2000);
  });
});
