import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Subject } from '../../core/conversation-store';
import { CodedError, isCodedError } from '../../errors';
import type { FieldCipher, FieldContext } from '../crypto/field-cipher';
import { DestroyedKeyError, type CryptoObserver, type DataKey, type KeyRing } from '../crypto/key-ring';
import type { SqlDatabase } from './sql-database';
import { ConversationStateCache } from './conversation-state-cache';
import { Tombstones } from './tombstones';

const NO_OWNER_MS = 2_000;

/**
 * Whom a stored record belongs to, as its row says: the subject it is filed under and, for
 * conversation Data, the conversation (whose visitor's key seals it). Only a destroyed key of one
 * of them (or of the team) means the record was erased.
 */
export interface RecordOwner {
  readonly subjectRef?: string;
  readonly conversationRef?: string | null;
}

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
    return this.conversationOwnerOfRef(teamId, this.conversationRef(teamId, conversationId));
  }

  /** The visitor ref of a stored conversation, by the conversation's blind ref. */
  async conversationOwnerOfRef(teamId: string, conversationRef: string): Promise<string | undefined> {
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
   * Decrypts a stored value. Returns undefined only when its key was destroyed and was the key of
   * the record's own subject, conversation visitor or team (the Data was erased). A key that does
   * not exist, or a destroyed key of another subject or team, throws KEY_MISSING (logged and
   * counted: a corrupted key id, a lost key row or a foreign restored row is an error, never an
   * erasure); a tampered or moved value throws DECRYPT_FAILED.
   */
  async open<T>(ctx: FieldContext, stored: Uint8Array, owner?: RecordOwner): Promise<T | undefined> {
    let key: DataKey;
    try {
      key = await this.keys.keyById(this.cipher.keyIdOf(stored));
    } catch (err) {
      if (err instanceof DestroyedKeyError && (await this.isOwnKey(ctx, err, owner))) {
        this.observer.operation?.('decrypt', 'key_destroyed');
        return undefined;
      }
      if (err instanceof DestroyedKeyError || isCodedError(err, 'KEY_MISSING')) {
        this.observer.operation?.('decrypt', 'key_missing');
        this.logger?.error(
          { code: 'KEY_MISSING', table: ctx.table, field: ctx.field, recordId: ctx.recordId },
          err instanceof DestroyedKeyError
            ? "stored record names another subject's destroyed data key; it cannot be read"
            : 'stored record names a data key that does not exist; it cannot be read',
        );
        if (err instanceof DestroyedKeyError)
          throw new CodedError(
            'KEY_MISSING',
            `${ctx.table}.${ctx.field} of ${ctx.recordId} names a destroyed data key that was not its own subject's or team's (corrupted key id, or a row restored from elsewhere)`,
            { cause: err },
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

  /**
   * Whether a destroyed key was the record's own: its team's key, or its subject's or its
   * conversation visitor's (a visitor's key seals the agent's and bot's messages too).
   */
  private async isOwnKey(
    ctx: FieldContext,
    err: DestroyedKeyError,
    owner: RecordOwner | undefined,
  ): Promise<boolean> {
    const k = err.owner;
    if (k.teamId !== ctx.teamId) return false;
    if (k.scope === 'team' || owner === undefined) return true;
    if (k.subjectRef === owner.subjectRef) return true;
    if (!owner.conversationRef) return false;
    return (await this.conversationOwnerOfRef(ctx.teamId, owner.conversationRef)) === k.subjectRef;
  }
}

function isWiped(key: Uint8Array): boolean {
  for (const byte of key) if (byte !== 0) return false;
  return true;
}
