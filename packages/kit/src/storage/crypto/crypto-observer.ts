/** How a cryptographic operation ended, as counted by `clickdesk_crypto_operations_total`. */
export type CryptoOutcome = 'ok' | 'failed' | 'key_missing' | 'key_destroyed';

/** Told of every key-ring and cipher operation (the metrics implement it). */
export interface CryptoObserver {
  operation?(op: 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'shred', outcome: CryptoOutcome): void;
}
