/**
 * Tables whose rows hold Data sealed under data keys, or the wrapped keys themselves: an erasure
 * purges these from the engine (layer (b): VACUUM FULL on PostgreSQL). A store that adds an
 * encrypted table adds it here, and its rows to the erasure steps.
 */
export const PURGED_TABLES: readonly string[] = [
  'data_keys',
  'messages',
  'inbox',
  'outbox',
  'profiles',
  'conversations',
  'installations',
];

/** SQL for the data key id (hex) a sealed column's value names (format byte, then 16 bytes of key id). */
export function sealedKeyIdSql(dialect: 'sqlite' | 'postgres', column: string): string {
  return dialect === 'postgres'
    ? `encode(substring(${column} from 2 for 16), 'hex')`
    : `lower(hex(substr(${column}, 2, 16)))`;
}
