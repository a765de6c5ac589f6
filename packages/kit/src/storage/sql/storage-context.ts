import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Subject } from '../../core/conversation-store';
import { CodedError, isCodedError } from '../../errors';
import type { FieldCipher, FieldContext } from '../crypto/field-cipher';
import type { CryptoObserver, DataKey, KeyRing } from '../crypto/key-ring';
import type { SqlDatabase } from './sql-database';
import { ConversationStateCache } from './conversation-state-cache';
import { Tombstones } from './tombstones';

const NO_OWNER_MS = 2_000;

/** What every encrypted store shares: the database, the key ring, the cipher, and a clock. */
export class StorageContext {
  constructor(
    readonly db: SqlDatabase,
    readonly keys: KeyRing,
    readonly cipher: FieldCipher,
    readonly now: () => number = Date.now,
    private readonly observer: CryptoObserver = {},
    private readonly logger?: Pick<Logger, 'error'>,
  ) {
    this.tombstones = new Tombstones(db, now);
    // SQLite: this process is the only writer, so conversation state may be held in memory.
    const states = db.dialect === 'sqlite' ? ConversationStateCache.of(db) : undefined;
    if (states) keys.onShred(() => states.clear());
    this.conversationStates = states;
  }

  /** Conversation state in memory (SQLite only; see ConversationStateCache). */
  readonly conversationStates: ConversationStateCache | undefined;

  /** Erased subjects and teams: stores write nothing for them. */
  readonly tombstones: Tombstones;

  /** Terms 6.1: cached Data older than this is never served (and is dropped by the refresher). */
  static readonly MAX_AGE_MS = 24 * 60 * 60 * 1000;

  /** The oldest confirmation time a read may still serve. */
  freshSince(): number {
    return this.now() - StorageContext.MAX_AGE_MS;
  }

  subjectRef(teamId: string, subject: Subject): string {
    return this.keys.blind(subject.kind, teamId, subject.id);
  }

  conversationRef(teamId: string, conversationId: string): string {
    return this.keys.blind('conversation', teamId, conversationId);
  }

  /** The key Data of this subject is encrypted under; the team's key when there is no subject. */
  keyOf(teamId: string, subjectRef: string | undefined): DataKey | Promise<DataKey> {
    const [scope, ref] = subjectRef ? (['subject', subjectRef] as const) : (['team', ''] as const);
    return this.keys.cachedKeyFor(teamId, scope, ref) ?? this.keys.keyFor(teamId, scope, ref);
  }

  /**
   * Whose key seals Data of a conversation: its visitor's, when the conversation is stored (so a
   * visitor's erasure takes the whole conversation: agent, bot and system messages included);
   * otherwise the author's (`fallbackRef`), or the team's when that is empty.
   */
  async conversationOwnerRef(teamId: string, conversationId: string): Promise<string | undefined> {
    const conversationRef = this.conversationRef(teamId, conversationId);
    const key = `${teamId}|${conversationRef}`;
    const known = this.owners.get(key);
    if (typeof known === 'string') return known;
    if (known !== undefined && known > this.now()) return undefined;
    const [row] = await this.db.all<{ visitor_ref: string }>(
      'SELECT visitor_ref FROM conversations WHERE team_id = ? AND conversation_ref = ?',
      [teamId, conversationRef],
    );
    this.remember(key, row ? row.visitor_ref : this.now() + NO_OWNER_MS);
    return row?.visitor_ref;
  }

  /**
   * A conversation's visitor never changes: remembered (blind refs only, bounded) so a message
   * costs no extra query; "not stored yet" is remembered for 2 s only (another instance may
   * store it). An erased owner is caught by the tombstone check all the same.
   */
  rememberOwner(teamId: string, conversationRef: string, visitorRef: string): void {
    this.remember(`${teamId}|${conversationRef}`, visitorRef);
  }

  private remember(key: string, value: string | number): void {
    this.owners.set(key, value);
  }

  /** `<team>|<conversation ref>` → the visitor's ref, or until when it is known to be absent. */
  private readonly owners = new LRUCache<string, string | number>({ max: 50_000 });

  seal(ctx: FieldContext, value: unknown, key: DataKey): Buffer {
    if (isWiped(key.key)) {
      // A key dropped from memory (zeroed) while a caller still held it: never encrypt under zeroes.
      throw new CodedError('KEY_MISSING', `data key ${key.id} was dropped from memory before use; retry`);
    }
    const sealed = this.cipher.encrypt(ctx, Buffer.from(JSON.stringify(value), 'utf8'), key.id, key.key);
    this.observer.operation?.('encrypt', 'ok');
    return sealed;
  }

  /**
   * Decrypts a stored value. Returns undefined only when its key was destroyed (the Data was
   * erased). A key that does not exist throws KEY_MISSING (logged and counted: a corrupted key
   * id or a lost key row is an error, never an erasure); a tampered or moved value throws
   * DECRYPT_FAILED.
   */
  async open<T>(ctx: FieldContext, stored: Uint8Array): Promise<T | undefined> {
    let key: DataKey;
    try {
      key = await this.keys.keyById(this.cipher.keyIdOf(stored));
    } catch (err) {
      if (isCodedError(err, 'DATA_KEY_DESTROYED')) {
        this.observer.operation?.('decrypt', 'key_destroyed');
        return undefined;
      }
      if (isCodedError(err, 'KEY_MISSING')) {
        this.observer.operation?.('decrypt', 'key_missing');
        this.logger?.error(
          { code: 'KEY_MISSING', table: ctx.table, field: ctx.field, recordId: ctx.recordId },
          'stored record names a data key that does not exist; it cannot be read',
        );
        throw err;
      }
      this.observer.operation?.('decrypt', 'failed');
      throw err;
    }
    try {
      const plain = this.cipher.decrypt(ctx, stored, key.key);
      this.observer.operation?.('decrypt', 'ok');
      return JSON.parse(Buffer.from(plain).toString('utf8')) as T;
    } catch (err) {
      this.observer.operation?.('decrypt', 'failed');
      if (isCodedError(err)) throw err;
      throw new CodedError(
        'DECRYPT_FAILED',
        `decrypted ${ctx.table}.${ctx.field} of ${ctx.recordId} is not valid JSON`,
        { cause: err },
      );
    }
  }
}

function isWiped(key: Uint8Array): boolean {
  for (const byte of key) if (byte !== 0) return false;
  return true;
}
