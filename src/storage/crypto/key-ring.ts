import { createHmac, randomBytes } from 'node:crypto';
import { CodedError } from '../../errors';
import type { SqlDatabase, SqlRunner } from '../sql/sql-database';
import type { MasterKey, MasterKeySet } from './master-keys';
import type { Sodium } from './sodium';

/** A usable data key: its public id and the unwrapped key bytes. */
export interface DataKey {
  readonly id: string;
  readonly key: Uint8Array;
}

export interface CryptoObserver {
  operation?(op: 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'shred', outcome: 'ok' | 'failed'): void;
}

type Scope = 'team' | 'subject' | 'index';

interface KeyRow {
  key_id: string;
  team_id: string;
  scope: Scope;
  subject_ref: string;
  master_key_id: string | null;
  wrapped: Buffer | null;
}

const NONCE = 24;
/** How long an unwrapped key is kept in memory; a key shredded by another instance stops working here within this. */
const CACHE_MS = 60_000;

/**
 * The key hierarchy (Terms 6.2):
 *   master key (env or file, never stored) → wraps → data keys (random, one per team and per
 *   subject, stored wrapped in `data_keys`) → encrypt → Data fields.
 * Destroying a data key's wrapped copy (crypto-shredding) makes every ciphertext under it
 * unreadable at once, backups included. A deployment-wide index key (also wrapped) keys the
 * blind indexes that stand in for people's and conversations' ids.
 */
export class KeyRing {
  private readonly bySubject = new Map<string, { key: DataKey; at: number }>();
  private readonly byId = new Map<string, { key: DataKey; at: number }>();
  private readonly creating = new Map<string, Promise<DataKey>>();
  private readonly blindCache = new Map<string, string>();
  private indexKey: Buffer | undefined;

  constructor(
    private readonly db: SqlDatabase,
    private readonly masters: MasterKeySet,
    private readonly sodium: Sodium,
    private readonly observer: CryptoObserver = {},
    /** Called after keys are destroyed, to wipe copies held elsewhere (the cipher's scratch memory). */
    private readonly onDestroyed: () => void = () => undefined,
  ) {}

  /** Loads (or creates) the index key. Call once before use. */
  async open(): Promise<void> {
    this.indexKey = Buffer.from((await this.keyFor('*', 'index', '')).key);
  }

  /** A keyed hash standing in for an identifier, e.g. blind('visitor', teamId, visitorId). */
  blind(kind: string, teamId: string, id: string): string {
    const input = `${kind}|${teamId}|${id}`;
    const cached = this.blindCache.get(input);
    if (cached) return cached;
    if (!this.indexKey) throw new Error('KeyRing.open() was not awaited');
    const ref = createHmac('sha256', this.indexKey).update(input).digest('base64url').slice(0, 22);
    this.blindCache.set(input, ref);
    if (this.blindCache.size > 50_000) this.blindCache.delete(this.blindCache.keys().next().value as string);
    return ref;
  }

  /** The live data key if it is in memory already (the common case, without a promise). */
  cachedKeyFor(teamId: string, scope: Scope, subjectRef: string): DataKey | undefined {
    const hit = this.bySubject.get(`${teamId}|${scope}|${subjectRef}`);
    return hit && Date.now() - hit.at < CACHE_MS ? hit.key : undefined;
  }

  /** The live data key of a team (subjectRef '') or of a subject, created on first use. */
  async keyFor(teamId: string, scope: Scope, subjectRef: string): Promise<DataKey> {
    const cacheKey = `${teamId}|${scope}|${subjectRef}`;
    const hit = this.bySubject.get(cacheKey);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.key;
    let pending = this.creating.get(cacheKey);
    if (!pending) {
      pending = this.loadOrCreate(teamId, scope, subjectRef).finally(() => this.creating.delete(cacheKey));
      this.creating.set(cacheKey, pending);
    }
    const key = await pending;
    this.bySubject.set(cacheKey, { key, at: Date.now() });
    this.byId.set(key.id, { key, at: Date.now() });
    return key;
  }

  /** The data key with this id, to decrypt; throws DATA_KEY_DESTROYED once it was shredded. */
  async keyById(keyId: string): Promise<DataKey> {
    const hit = this.byId.get(keyId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.key;
    const [row] = await this.db.all<KeyRow>('SELECT * FROM data_keys WHERE key_id = ?', [keyId]);
    if (!row?.wrapped) {
      throw new CodedError(
        'DATA_KEY_DESTROYED',
        `data key ${keyId} ${row ? 'was destroyed (erased Data)' : 'does not exist'}`,
      );
    }
    const key = { id: keyId, key: this.unwrap(row) };
    this.byId.set(keyId, { key, at: Date.now() });
    return key;
  }

  /**
   * Crypto-shredding: destroys the live keys of a subject (or, with scope 'team' and no subject,
   * of the team). Runs in `tx` when given, so it commits together with what the caller records.
   */
  async destroy(
    teamId: string,
    scope: 'team' | 'subject',
    subjectRef?: string,
    tx?: SqlRunner,
  ): Promise<string[]> {
    const where =
      subjectRef === undefined
        ? 'team_id = ? AND scope = ?'
        : 'team_id = ? AND scope = ? AND subject_ref = ?';
    const params = subjectRef === undefined ? [teamId, scope] : [teamId, scope, subjectRef];
    const run = async (t: SqlRunner): Promise<string[]> => {
      const rows = await t.all<{ key_id: string }>(
        `SELECT key_id FROM data_keys WHERE ${where} AND destroyed_at IS NULL`,
        params,
      );
      await t.run(
        `UPDATE data_keys SET wrapped = NULL, master_key_id = NULL, destroyed_at = ? WHERE ${where} AND destroyed_at IS NULL`,
        [Date.now(), ...params],
      );
      return rows.map((r) => r.key_id);
    };
    const destroyed = tx ? await run(tx) : await this.db.transaction(run);
    this.forget(destroyed);
    this.observer.operation?.('shred', 'ok');
    return destroyed;
  }

  /** Destroys every key, the index key included (termination). */
  async destroyAll(): Promise<string[]> {
    const destroyed = await this.db.transaction(async (tx) => {
      const rows = await tx.all<{ key_id: string }>(
        'SELECT key_id FROM data_keys WHERE destroyed_at IS NULL',
      );
      await tx.run(
        'UPDATE data_keys SET wrapped = NULL, master_key_id = NULL, destroyed_at = ? WHERE destroyed_at IS NULL',
        [Date.now()],
      );
      return rows.map((r) => r.key_id);
    });
    this.forget(destroyed);
    this.blindCache.clear();
    this.indexKey = undefined;
    return destroyed;
  }

  /** Counts of live data keys by the master key that wraps them. */
  async wrapStatus(): Promise<Array<{ masterKeyId: string; keys: number; current: boolean }>> {
    const rows = await this.db.all<{ master_key_id: string; n: number }>(
      'SELECT master_key_id, COUNT(*) AS n FROM data_keys WHERE destroyed_at IS NULL GROUP BY master_key_id',
    );
    return rows.map((r) => ({
      masterKeyId: r.master_key_id,
      keys: Number(r.n),
      current: r.master_key_id === this.masters.current.id,
    }));
  }

  /**
   * Master-key rotation: re-wraps every live data key still under a previous master key with the
   * current one, in batches. Data is not re-encrypted. Safe to run while the app serves traffic
   * and to run again after an interruption.
   */
  async rewrap(
    onProgress: (done: number, remaining: number) => void = () => undefined,
    batch = 500,
  ): Promise<number> {
    let done = 0;
    for (;;) {
      const rows = await this.db.all<KeyRow>(
        'SELECT * FROM data_keys WHERE destroyed_at IS NULL AND master_key_id <> ? ORDER BY key_id LIMIT ?',
        [this.masters.current.id, batch],
      );
      if (rows.length === 0) return done;
      await this.db.transaction(async (tx) => {
        for (const row of rows) {
          const key = this.unwrap(row);
          const wrapped = this.wrap(row, key);
          await tx.run(
            'UPDATE data_keys SET wrapped = ?, master_key_id = ? WHERE key_id = ? AND master_key_id = ? AND destroyed_at IS NULL',
            [wrapped, this.masters.current.id, row.key_id, row.master_key_id],
          );
        }
      });
      done += rows.length;
      const [left] = await this.db.all<{ n: number }>(
        'SELECT COUNT(*) AS n FROM data_keys WHERE destroyed_at IS NULL AND master_key_id <> ?',
        [this.masters.current.id],
      );
      onProgress(done, Number(left?.n ?? 0));
    }
  }

  private async loadOrCreate(teamId: string, scope: Scope, subjectRef: string): Promise<DataKey> {
    const select = () =>
      this.db.all<KeyRow>(
        'SELECT * FROM data_keys WHERE team_id = ? AND scope = ? AND subject_ref = ? AND destroyed_at IS NULL',
        [teamId, scope, subjectRef],
      );
    let [row] = await select();
    if (!row) {
      const key = randomBytes(32);
      const fresh: KeyRow = {
        key_id: randomBytes(16).toString('hex'),
        team_id: teamId,
        scope,
        subject_ref: subjectRef,
        master_key_id: null,
        wrapped: null,
      };
      const wrapped = this.wrap(fresh, key);
      // Group-committed with other writes; the partial unique index settles a race between instances.
      await this.db.write(
        (tx) =>
          tx.run(
            'INSERT INTO data_keys (key_id, scope, team_id, subject_ref, master_key_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
            [fresh.key_id, scope, teamId, subjectRef, this.masters.current.id, wrapped, Date.now()],
          ),
        'ack', // new subjects' first events wait on this: it must not queue behind handler writes
      );
      [row] = await select();
      if (!row) throw new Error('data key vanished right after it was created');
    }
    return { id: row.key_id, key: this.unwrap(row) };
  }

  private wrap(row: Pick<KeyRow, 'key_id' | 'team_id' | 'scope' | 'subject_ref'>, key: Uint8Array): Buffer {
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

  private unwrap(row: KeyRow): Uint8Array {
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

  private forget(keyIds: string[]): void {
    const gone = new Set(keyIds);
    for (const [k, v] of this.bySubject) if (gone.has(v.key.id)) this.bySubject.delete(k);
    for (const id of gone) {
      const entry = this.byId.get(id);
      if (entry) this.sodium.memzero(entry.key.key);
      this.byId.delete(id);
    }
    this.onDestroyed();
  }
}

function wrapAd(row: Pick<KeyRow, 'key_id' | 'team_id' | 'scope' | 'subject_ref'>, masterId: string): Buffer {
  return Buffer.from(
    `cdbs:dek:v1|${row.key_id}|${row.team_id}|${row.scope}|${row.subject_ref}|${masterId}`,
    'utf8',
  );
}
