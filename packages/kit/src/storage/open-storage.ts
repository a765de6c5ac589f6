import path from 'node:path';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load-config';
import type { ConversationStore, MessageStore, ProfileStore } from '../core/conversation-store';
import type { EventInbox } from '../core/event-inbox';
import { FieldCipher } from './crypto/field-cipher';
import { KeyRing, type CryptoObserver } from './crypto/key-ring';
import { loadMasterKeys, type MasterKeySources } from './crypto/master-keys';
import { loadSodium } from './crypto/sodium';
import {
  MemoryConversationStore,
  MemoryMessageStore,
  MemoryProfileStore,
} from './memory/memory-conversation-store';
import { MemoryEventInbox } from './memory/memory-event-inbox';
import { defaultInstanceId } from './sql/lease-options';
import type { InstallationStore } from '../installations/installation-store';
import type { UsedStates } from '../installations/install-state';
import { MemoryInstallationStore } from './memory/memory-installation-store';
import { MemoryUsedStates } from './memory/memory-used-states';
import { SqlInstallationStore } from './sql/sql-installation-store';
import { SqlUsedStates } from './sql/sql-used-states';
import { migrate } from './sql/migrations';
import { SqlConversationStore } from './sql/sql-conversation-store';
import type { SqlDatabase } from './sql/sql-database';
import { SqlEventInbox } from './sql/sql-event-inbox';
import { SqlMessageStore } from './sql/sql-message-store';
import { SqlProfileStore } from './sql/sql-profile-store';
import { SqliteDatabase } from './sql/sqlite-database';
import { StorageContext } from './sql/storage-context';

export type StorageKind = 'sqlite' | 'postgres' | 'memory';

export interface StorageOptions {
  kind: StorageKind;
  /** SQLite: the database is `<dataDir>/clickdesk.db`. */
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL schema to use (tests isolate themselves in one). */
  pgSchema?: string;
  masterKeys: MasterKeySources;
  now?: () => number;
  observer?: CryptoObserver;
  /** Who holds this process's leases on events and effects; see lease-options.ts for the default. */
  instanceId?: string;
  /** How long a lease lasts without a heartbeat (default 15 s). */
  leaseMs?: number;
  /** Where KEY_MISSING and similar storage errors are logged. */
  logger?: Pick<Logger, 'error'>;
}

/** Every store the app keeps, over one database; `sql` is undefined for the in-memory kind. */
export interface Storage {
  readonly kind: StorageKind;
  readonly inbox: EventInbox;
  readonly conversations: ConversationStore;
  readonly messages: MessageStore;
  readonly profiles: ProfileStore;
  /** Teams that installed the app, their tokens sealed under each team's key. */
  readonly installations: InstallationStore;
  /** Install states already spent (single use across instances). */
  readonly usedStates: UsedStates;
  readonly sql:
    { readonly db: SqlDatabase; readonly ctx: StorageContext; readonly keys: KeyRing } | undefined;
  close(): Promise<void>;
}

/** Storage options from the app's configuration; in sandbox mode a master key is generated on first use. */
export function storageOptionsFrom(config: Pick<AppConfig, 'mode' | 'storage'>): StorageOptions {
  const { storage } = config;
  return {
    kind: storage.kind,
    dataDir: storage.dataDir,
    databaseUrl: storage.databaseUrl,
    instanceId: storage.instanceId,
    masterKeys: {
      key: storage.masterKey,
      file: storage.masterKeyFile,
      previous: storage.masterKeyPrevious,
      generateInto: config.mode === 'sandbox' ? storage.dataDir : undefined,
    },
  };
}

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'clickdesk.db');
}

/** Opens the configured storage: connects, runs migrations, loads keys. */
export async function openStorage(opts: StorageOptions): Promise<Storage> {
  if (opts.kind === 'memory') {
    return {
      kind: 'memory',
      inbox: new MemoryEventInbox(),
      conversations: new MemoryConversationStore(),
      messages: new MemoryMessageStore(),
      profiles: new MemoryProfileStore(),
      installations: new MemoryInstallationStore(opts.now),
      usedStates: new MemoryUsedStates(opts.now),
      sql: undefined,
      close: () => Promise.resolve(),
    };
  }
  const masters = loadMasterKeys(opts.masterKeys);
  const sodium = await loadSodium();
  const db: SqlDatabase =
    opts.kind === 'postgres'
      ? // Loaded only here: an app on SQLite never loads the PostgreSQL client.
        (await import('./sql/postgres-database')).PostgresDatabase.connect(opts.databaseUrl ?? '', {
          schema: opts.pgSchema,
        })
      : new SqliteDatabase(sqliteFile(opts.dataDir));
  const cipher = new FieldCipher(sodium);
  const keys = new KeyRing(db, masters, sodium, {
    observer: opts.observer,
    onDestroyed: () => cipher.wipe(),
  });
  try {
    await migrate(db);
    await keys.open();
    const ctx = new StorageContext(db, keys, cipher, opts.now, opts.observer, opts.logger);
    await ctx.tombstones.load();
    const messages = new SqlMessageStore(ctx);
    return {
      kind: opts.kind,
      inbox: new SqlEventInbox(ctx, {
        instanceId: opts.instanceId ?? defaultInstanceId(opts.kind, opts.dataDir),
        leaseMs: opts.leaseMs,
        messages,
      }),
      conversations: new SqlConversationStore(ctx),
      messages,
      profiles: new SqlProfileStore(ctx),
      installations: new SqlInstallationStore(ctx),
      usedStates: new SqlUsedStates(db, opts.now),
      sql: { db, ctx, keys },
      close: async () => {
        await keys.close();
        await db.close();
      },
    };
  } catch (err) {
    await keys.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}
