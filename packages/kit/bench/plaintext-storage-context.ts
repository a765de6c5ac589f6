import type { Subject } from '../src/core/conversation-store';
import type { FieldContext } from '../src/storage/crypto/field-cipher';
import type { DataKey } from '../src/storage/crypto/key-ring';
import { StorageContext } from '../src/storage/sql/storage-context';

const NO_KEY: DataKey = { id: '00', key: new Uint8Array(32) };

/**
 * The benchmark's baseline, never used by the app: the same stores, SQL and group commit,
 * with encryption and blind indexes replaced by plain JSON and raw ids. The difference
 * between the two is the cost of Terms 6.2 alone.
 */
export class PlaintextStorageContext extends StorageContext {
  override subjectRef(teamId: string, subject: Subject): string {
    return `${subject.kind}:${subject.id}`;
  }

  override conversationRef(_teamId: string, conversationId: string): string {
    return conversationId;
  }

  override keyOf(): DataKey {
    return NO_KEY;
  }

  override seal(_ctx: FieldContext, value: unknown): Buffer {
    return Buffer.from(JSON.stringify(value), 'utf8');
  }

  override open<T>(_ctx: FieldContext, stored: Uint8Array): Promise<T | undefined> {
    return Promise.resolve(JSON.parse(Buffer.from(stored).toString('utf8')) as T);
  }
}
