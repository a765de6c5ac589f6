import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CodedError } from '../../errors';

/** A key-encryption key: wraps data keys, never touches Data itself. */
export interface MasterKey {
  /** Short public id stored beside what it wrapped: hex of SHA-256(key), first 8 bytes. */
  readonly id: string;
  readonly key: Buffer;
}

/** The current master key (wraps new data keys) and older ones that still unwrap until a re-wrap. */
export interface MasterKeySet {
  readonly current: MasterKey;
  readonly previous: readonly MasterKey[];
}

const KEY_BYTES = 32;

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('clickdesk-master-key-id').update(key).digest('hex').slice(0, 16);
}

/** Parses "base64 of 32 bytes"; `source` names where it came from, for the error. */
export function parseMasterKey(text: string, source: string): MasterKey {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+=*$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new CodedError(
      'MASTER_KEY_INVALID',
      `${source} is not a master key: expected ${KEY_BYTES} random bytes in base64 (44 characters), got ${key.length ? `${key.length} bytes` : 'something else'}. Generate one with: npm run keys -- generate`,
    );
  }
  return { id: masterKeyId(key), key };
}

export function generateMasterKeyText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export interface MasterKeySources {
  /** MASTER_KEY: the key itself. */
  key?: string;
  /** MASTER_KEY_FILE: a file holding it. */
  file?: string;
  /** MASTER_KEY_PREVIOUS: older keys, still accepted for unwrapping until `keys rotate` has run. */
  previous: readonly string[];
  /** Sandbox mode: generate `<dataDir>/master.key` (0600) on first start. */
  generateInto?: string;
}

/** Loads the master keys; outside sandbox mode a missing or malformed key stops start-up. */
export function loadMasterKeys(src: MasterKeySources): MasterKeySet {
  let current: MasterKey;
  if (src.key) current = parseMasterKey(src.key, 'MASTER_KEY');
  else if (src.file)
    current = parseMasterKey(readKeyFile(src.file, 'MASTER_KEY_FILE'), `MASTER_KEY_FILE (${src.file})`);
  else if (src.generateInto) current = sandboxKey(src.generateInto);
  else {
    throw new CodedError(
      'MASTER_KEY_MISSING',
      'No master key: set MASTER_KEY or MASTER_KEY_FILE (generate one with: npm run keys -- generate). Data is stored encrypted (Terms 6.2) and cannot be without it.',
    );
  }
  const previous = src.previous
    .map((k, i) => parseMasterKey(k, `MASTER_KEY_PREVIOUS[${i}]`))
    .filter((k) => k.id !== current.id);
  return { current, previous };
}

function readKeyFile(file: string, name: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CodedError('MASTER_KEY_MISSING', `${name}: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function sandboxKey(dataDir: string): MasterKey {
  const file = path.join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${generateMasterKeyText()}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return parseMasterKey(readFileSync(file, 'utf8'), `sandbox master key (${file})`);
}
