import { LRUCache } from 'lru-cache';
import { createHmac, randomBytes } from 'node:crypto';
import { CodedError } from '../../errors';
import type { CryptoObserver } from './crypto-observer';
import type { DataKey } from './data-key';
import { DestroyedKeyError } from './destroyed-key-error';
import { writeStatement, type SqlDatabase, type SqlRunner } from '../sql/sql-database';
import { KeyCache } from './key-cache';
import { KeyWrapper, type WrappedKeyRow } from './key-wrapper';
import { registerGenerations } from './master-key-generations';
import type { MasterKeySet } from './master-keys';
import type { Sodium } from './sodium';

export type { CryptoObserver, CryptoOutcome } from './crypto-observer';
export type { DataKey } from './data-key';
export { DestroyedKeyError, type KeyOwner } from './destroyed-key-error';

type Scope = 'team' | 'subject' | 'index';

interface KeyRow extends WrappedKeyRow {
  scope: Scope;
}

/** What a shred told the other instances (PostgreSQL NOTIFY payload). */
interface ShredNotice {
  /** Every key and every team: termination. */
  all?: boolean;
  /** The team the keys belonged to (its blind-index cache entries are dropped too). */
  team?: string;
  /** The keys destroyed; absent when there were too many to list (then the whole team is dropped). */
  keys?: string[];
}

/** PostgreSQL channel on which instances tell each other which keys were shredded. */
export const SHRED_CHANNEL = 'cdbs_key_shred';
/** NOTIFY payloads must stay under 8,000 bytes. */
const MAX_NOTICE_KEYS = 150;
/**
 * Blind indexes held in memory (two per new chat: visitor and conversation). A miss costs one
 * HMAC (~2 µs); at 25 new chats a second an entry stays 200 s, longer than most chats, and the
 * cache stops growing within minutes (at 50,000 it grew for 17 minutes, a soak's RSS with it).
 */
const BLIND_CACHE_MAX = 10_000;

export interface KeyRingOptions {
  observer?: CryptoObserver;
  /** Called after keys are dropped from memory, to wipe copies held elsewhere (the cipher's scratch memory). */
  onDestroyed?: () => void;
  /** How long an unwrapped key stays in memory (default 60 s) and how many at most (default 10,000). */
  cacheTtlMs?: number;
  cacheMax?: number;
  now?: () => number;
}

/**
 * The key hierarchy (Terms 6.2):
 *   master key (env or file, never stored) → wraps → data keys (random, one per team and per
 *   subject, stored wrapped in `data_keys`) → encrypt → Data fields.
 * Destroying a data key's wrapped copy (crypto-shredding) makes every ciphertext under it
 * unreadable in the live database at once; copies of the database made before stay readable
 * with the master key that wrapped it until that master key is retired (see lifecycle/
 * key-generations). A deployment-wide index key (also wrapped) keys the blind indexes that
 * stand in for people's and conversations' ids.
 *
 * With several instances on PostgreSQL, a shred is announced with NOTIFY in the shredding
 * transaction: every instance drops the keys (zeroed) when it commits. While an instance is
 * not listening (connecting, or its listener dropped), it caches no key at all.
 */
export class KeyRing {
  private readonly cache: KeyCache;
  private readonly wrapper: KeyWrapper;
  private readonly creating = new Map<string, Promise<DataKey>>();
  private readonly blindCache = new LRUCache<string, string>({ max: BLIND_CACHE_MAX });
  private indexKey: Buffer | undefined;
  private listening: boolean;
  /** Bumped whenever the listener drops or comes back: a key read before must not be cached after. */
  private listenEpoch = 0;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly observer: CryptoObserver;
  private readonly onDestroyed: () => void;
  private readonly shredListeners: Array<() => void> = [];
  private readonly now: () => number;

  constructor(
    private readonly db: SqlDatabase,
    private readonly masters: MasterKeySet,
    private readonly sodium: Sodium,
    options: KeyRingOptions = {},
  ) {
    this.observer = options.observer ?? {};
    this.onDestroyed = options.onDestroyed ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.wrapper = new KeyWrapper(masters, sodium, this.observer);
    this.cache = new KeyCache(sodium, options.cacheTtlMs, options.cacheMax, Date.now, this.onDestroyed);
    // SQLite has one process writing; PostgreSQL caches only once the listener is up.
    this.listening = db.dialect !== 'postgres';
  }

  /** Registers the master-key generations, starts listening for shreds, loads the index key. */
  async open(): Promise<void> {
    await registerGenerations(this.db, this.masters, this.now());
    if (this.db.listen) {
      this.unlisten = await this.db.listen(
        SHRED_CHANNEL,
        (payload) => this.onNotice(payload),
        (up) => {
          // A dropped listener may have missed a shred: forget every key and blind index held,
          // and what was decrypted under them, on the drop and again on the reconnect (a key
          // read while it was down may have been shredded before LISTEN took effect again).
          this.listenEpoch += 1;
          this.listening = up;
          this.dropAllCached();
        },
      );
    }
    this.indexKey = Buffer.from((await this.keyFor('*', 'index', '')).key);
  }

  /** Stops listening and zeroes every key held in memory, the index key included. */
  async close(): Promise<void> {
    await this.unlisten?.();
    this.cache.close();
    this.forgetIndex();
  }

  /** The id of the master key that wraps new data keys. */
  get currentMasterKeyId(): string {
    return this.masters.current.id;
  }

  /** How many unwrapped keys are held in memory now (tests). */
  get cachedKeys(): number {
    return this.cache.size;
  }

  /** How many blind-index inputs (raw ids) of a team are held in memory now (tests). */
  cachedBlindsOf(teamId: string): number {
    let n = 0;
    for (const input of this.blindCache.keys()) if (input.split('|')[1] === teamId) n += 1;
    return n;
  }

  /** A keyed hash standing in for an identifier, e.g. blind('visitor', teamId, visitorId). */
  blind(kind: string, teamId: string, id: string): string {
    const input = `${kind}|${teamId}|${id}`;
    const cached = this.blindCache.get(input);
    if (cached) return cached;
    if (!this.indexKey) throw new Error('KeyRing.open() was not awaited, or the keys were destroyed');
    const ref = createHmac('sha256', this.indexKey).update(input).digest('base64url').slice(0, 22);
    this.blindCache.set(input, ref);
    return ref;
  }

  /** The live data key if it is in memory already (the common case, without a promise). */
  cachedKeyFor(teamId: string, scope: Scope, subjectRef: string): DataKey | undefined {
    return this.listening ? this.cache.byOwnerOf(teamId, `${scope}|${subjectRef}`) : undefined;
  }

  /** The live data key of a team (subjectRef '') or of a subject, created on first use. */
  async keyFor(teamId: string, scope: Scope, subjectRef: string): Promise<DataKey> {
    const hit = this.cachedKeyFor(teamId, scope, subjectRef);
    if (hit) return hit;
    const cacheKey = `${teamId}|${scope}|${subjectRef}`;
    let pending = this.creating.get(cacheKey);
    if (!pending) {
      pending = this.loadOrCreate(teamId, scope, subjectRef).finally(() => this.creating.delete(cacheKey));
      this.creating.set(cacheKey, pending);
    }
    return pending;
  }

  /**
   * The data key with this id, to decrypt. Throws DATA_KEY_DESTROYED once it was shredded (the
   * Data was erased) and KEY_MISSING when no such key was ever stored here (a corrupted key id
   * or a lost key row: an error, never an erasure).
   */
  async keyById(keyId: string): Promise<DataKey> {
    const hit = this.listening ? this.cache.byKeyId(keyId) : undefined;
    if (hit) return hit;
    const epoch = this.listenEpoch;
    const [row] = await this.db.all<KeyRow>('SELECT * FROM data_keys WHERE key_id = ?', [keyId]);
    if (!row) {
      throw new CodedError(
        'KEY_MISSING',
        `data key ${keyId} does not exist: the stored value names a key this database never held (corrupted key id, or a data_keys row lost or restored from another copy)`,
      );
    }
    if (!row.wrapped)
      throw new DestroyedKeyError(keyId, {
        teamId: row.team_id,
        scope: row.scope,
        subjectRef: row.subject_ref,
      });
    return this.remember(row, this.wrapper.unwrap(row), epoch);
  }

  /**
   * Crypto-shredding: destroys the live keys of a subject (or, with scope 'team' and no subject,
   * of the team). Runs in `tx` when given, so it commits together with what the caller records;
   * every instance drops the keys from memory when it commits.
   */
  async destroy(
    teamId: string,
    scope: 'team' | 'subject',
    subjectRef: string | undefined,
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
      const keys = rows.map((r) => r.key_id);
      await this.announce(t, {
        team: teamId,
        ...(keys.length <= MAX_NOTICE_KEYS ? { keys } : {}),
      });
      return keys;
    };
    const destroyed = tx ? await run(tx) : await this.db.transaction(run);
    this.forget({ team: teamId, keys: destroyed });
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
      await this.announce(tx, { all: true });
      return rows.map((r) => r.key_id);
    });
    this.forget({ all: true });
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
          const key = this.wrapper.unwrap(row);
          const wrapped = this.wrapper.wrap(row, key);
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
    const epoch = this.listenEpoch;
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
      const wrapped = this.wrapper.wrap(fresh, key);
      // Group-committed with other writes; the partial unique index settles a race between instances.
      // In the ack lane: new subjects' first events wait on this, it must not queue behind handler writes.
      await writeStatement(
        this.db,
        'ack',
        'INSERT INTO data_keys (key_id, scope, team_id, subject_ref, master_key_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [fresh.key_id, scope, teamId, subjectRef, this.masters.current.id, wrapped, Date.now()],
      );
      [row] = await select();
      if (!row) throw new Error('data key vanished right after it was created');
    }
    return this.remember(row, this.wrapper.unwrap(row), epoch);
  }

  private remember(row: KeyRow, key: Uint8Array, readInEpoch: number): DataKey {
    const entry = { id: row.key_id, key, teamId: row.team_id, owner: `${row.scope}|${row.subject_ref}` };
    if (this.listening && readInEpoch === this.listenEpoch) this.cache.set(entry);
    return entry;
  }

  /** Tells the other instances, in the shredding transaction (delivered when it commits). */
  private async announce(tx: SqlRunner, notice: ShredNotice): Promise<void> {
    const channel = this.db.noticeChannel?.(SHRED_CHANNEL);
    if (channel) await tx.all('SELECT pg_notify(?, ?)', [channel, JSON.stringify(notice)]);
  }

  private onNotice(payload: string): void {
    let notice: ShredNotice;
    try {
      notice = JSON.parse(payload) as ShredNotice;
    } catch {
      notice = { all: true }; // unreadable notice: assume the worst
    }
    this.forget(notice);
  }

  /**
   * Calls `listener` whenever keys are shredded (here or, on PostgreSQL, by another instance)
   * or all keys are dropped: Data decrypted under them and held elsewhere in memory must go too.
   */
  onShred(listener: () => void): void {
    this.shredListeners.push(listener);
  }

  /** Drops (zeroed) the keys a shred destroyed and the raw ids of the blind-index cache of that team. */
  private forget(notice: ShredNotice): void {
    if (notice.all) {
      this.cache.clear();
      this.forgetIndex();
      return;
    }
    if (notice.team !== undefined) {
      if (notice.keys) this.cache.dropIds(notice.keys);
      else this.cache.dropTeam(notice.team);
      // Raw ids (`visitor|T|V…`) must not outlive an erasure: drop the team's whole blind cache.
      for (const input of [...this.blindCache.keys()]) {
        if (input.split('|')[1] === notice.team) this.blindCache.delete(input);
      }
    }
    for (const listener of this.shredListeners) listener();
    this.onDestroyed();
  }

  /** Drops every cached key and blind index (not the index key itself): a shred may have been missed. */
  private dropAllCached(): void {
    this.cache.clear();
    this.blindCache.clear();
    for (const listener of this.shredListeners) listener();
    this.onDestroyed();
  }

  private forgetIndex(): void {
    for (const listener of this.shredListeners) listener();
    this.indexKey?.fill(0);
    this.indexKey = undefined;
    this.blindCache.clear();
    this.onDestroyed();
  }
}
