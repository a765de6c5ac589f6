import type { SqlDatabase } from './sql-database';

/**
 * Versioned schema migrations, run at start on both dialects. Append new versions; never edit
 * an applied one. `{blob}`, `{bigint}` and `{serial}` become each dialect's types.
 *
 * Nothing a person wrote or is called is stored in clear: Data lives in `body`/`payload`
 * columns encrypted per field (see storage/crypto); ids of people and conversations are keyed
 * hashes (`*_ref`). Team ids and ClickDesk event ids stay in clear for look-ups and erasure.
 */
export const MIGRATIONS: Array<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'encrypted store, keys and event inbox',
    sql: `
      CREATE TABLE data_keys (
        key_id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        team_id TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        master_key_id TEXT,
        wrapped {blob},
        created_at {bigint} NOT NULL,
        destroyed_at {bigint}
      );
      CREATE UNIQUE INDEX data_keys_live ON data_keys (team_id, scope, subject_ref) WHERE destroyed_at IS NULL;
      CREATE INDEX data_keys_master ON data_keys (master_key_id) WHERE destroyed_at IS NULL;

      CREATE TABLE conversations (
        team_id TEXT NOT NULL,
        conversation_ref TEXT NOT NULL,
        visitor_ref TEXT NOT NULL,
        body {blob} NOT NULL,
        status TEXT NOT NULL,
        started_at {bigint} NOT NULL,
        confirmed_at {bigint} NOT NULL,
        PRIMARY KEY (team_id, conversation_ref)
      );
      CREATE INDEX conversations_visitor ON conversations (team_id, visitor_ref);

      CREATE TABLE messages (
        event_id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        conversation_ref TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        sender_kind TEXT NOT NULL,
        body {blob} NOT NULL,
        created_at {bigint} NOT NULL,
        confirmed_at {bigint} NOT NULL
      );
      CREATE INDEX messages_conversation ON messages (team_id, conversation_ref, created_at);
      CREATE INDEX messages_subject ON messages (team_id, subject_ref);

      CREATE TABLE profiles (
        team_id TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        kind TEXT NOT NULL,
        body {blob} NOT NULL,
        confirmed_at {bigint} NOT NULL,
        PRIMARY KEY (team_id, subject_ref)
      );

      CREATE TABLE inbox (
        event_id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        received_at {bigint} NOT NULL,
        payload {blob},
        handled_at {bigint},
        lease_owner TEXT,
        lease_until {bigint}
      );
      CREATE INDEX inbox_unhandled ON inbox (received_at) WHERE handled_at IS NULL;
      CREATE INDEX inbox_subject ON inbox (team_id, subject_ref);
    `,
  },
  {
    version: 2,
    name: 'data lifecycle: webhook ids, jobs, tombstones, receipts, audit log',
    sql: `
      CREATE TABLE webhook_deliveries (
        webhook_id TEXT PRIMARY KEY,
        received_at {bigint} NOT NULL
      );
      CREATE TABLE lifecycle_jobs (
        job_id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL,
        type TEXT NOT NULL,
        team_id TEXT,
        subject_kind TEXT,
        subject_ref TEXT,
        requested_at {bigint},
        created_at {bigint} NOT NULL,
        state TEXT NOT NULL,
        lease_until {bigint},
        started_at {bigint},
        finished_at {bigint},
        progress TEXT NOT NULL
      );
      CREATE INDEX lifecycle_jobs_open ON lifecycle_jobs (created_at) WHERE state <> 'done';
      CREATE TABLE tombstones (
        team_id TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        created_at {bigint} NOT NULL,
        PRIMARY KEY (team_id, subject_ref)
      );
      CREATE TABLE receipts (
        job_id TEXT PRIMARY KEY,
        issued_at {bigint} NOT NULL,
        document TEXT NOT NULL
      );
      CREATE TABLE audit_log (
        seq {bigint} PRIMARY KEY,
        at {bigint} NOT NULL,
        entry TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'exactly-once effects: outbox, handler failures, dead letters',
    sql: `
      ALTER TABLE inbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE inbox ADD COLUMN dead_at {bigint};
      ALTER TABLE inbox ADD COLUMN dead_reason TEXT;
      CREATE INDEX inbox_replay ON inbox (received_at) WHERE handled_at IS NULL AND dead_at IS NULL;
      CREATE INDEX inbox_leased ON inbox (lease_owner) WHERE handled_at IS NULL;

      CREATE TABLE outbox (
        seq {serial},
        effect_id TEXT NOT NULL UNIQUE,
        event_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        subject_ref TEXT NOT NULL,
        lane TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload {blob} NOT NULL,
        state TEXT NOT NULL,
        created_at {bigint} NOT NULL,
        next_at {bigint} NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        attempted_at {bigint},
        lease_owner TEXT,
        lease_until {bigint},
        last_error TEXT,
        dead_at {bigint},
        dead_reason TEXT
      );
      CREATE INDEX outbox_lane ON outbox (lane, seq) WHERE state = 'pending';
      CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
      CREATE INDEX outbox_leased ON outbox (lease_owner) WHERE state = 'pending';
      CREATE INDEX outbox_subject ON outbox (team_id, subject_ref)
    `,
  },
  {
    version: 4,
    name: 'erasure proof in layers: master-key generations',
    sql: `
      CREATE TABLE master_keys (
        master_key_id TEXT PRIMARY KEY,
        first_seen_at {bigint} NOT NULL,
        retired_at {bigint},
        retirement TEXT
      );
      INSERT INTO master_keys (master_key_id, first_seen_at)
        SELECT master_key_id, MIN(created_at) FROM data_keys WHERE master_key_id IS NOT NULL GROUP BY master_key_id
    `,
  },
  {
    version: 5,
    name: 'installations (tokens sealed under the team key) and used OAuth states',
    sql: `
      CREATE TABLE installations (
        team_id TEXT PRIMARY KEY,
        body {blob} NOT NULL,
        expires_at {bigint},
        installed_at {bigint} NOT NULL,
        updated_at {bigint} NOT NULL,
        refresh_owner TEXT,
        refresh_until {bigint}
      );
      CREATE TABLE oauth_states (
        nonce TEXT PRIMARY KEY,
        expires_at {bigint} NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'indexes for freshness: oldest confirmation and expiry without a table scan',
    // Terms 6.1: the freshness gauge (MIN(confirmed_at) per scrape) and the refresher's drops and
    // expiry read these columns; without an index each read scanned every stored message.
    sql: `
      CREATE INDEX messages_confirmed ON messages (confirmed_at);
      CREATE INDEX messages_created ON messages (created_at);
      CREATE INDEX profiles_confirmed ON profiles (confirmed_at);
      CREATE INDEX conversations_confirmed ON conversations (confirmed_at);
    `,
  },
  {
    version: 7,
    name: 'dead letters counted through partial indexes',
    // The dead-letter gauges are read on every scrape: only the dead rows, never the whole inbox.
    sql: `
      CREATE INDEX inbox_dead ON inbox (dead_at) WHERE dead_at IS NOT NULL;
      CREATE INDEX outbox_dead ON outbox (dead_at) WHERE state = 'dead'
    `,
  },
  {
    version: 8,
    name: 'drop an inbox index no query uses',
    // inbox_replay (version 3) serves the replay query; inbox_unhandled cost an index insert and
    // delete per event on the ingest path.
    sql: `DROP INDEX inbox_unhandled`,
  },
  {
    version: 9,
    name: 'handled inbox events found by age',
    // The refresher deletes events handled over a week ago, a bounded step at a time; without an
    // index each step scanned the whole inbox (synchronously, on SQLite).
    sql: `CREATE INDEX inbox_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL`,
  },
  {
    version: 10,
    name: 'inbox events filed by conversation',
    // Terms 6.3: a visitor's erasure removes every event of their conversations, the bot's echoes
    // and the agent's messages included, whose rows name neither the visitor nor (once handled)
    // their key. Rows stored before this version get the conversation of the message they carried;
    // the others are pending (sealed under the visitor's key) or are pruned within a week.
    sql: `
      ALTER TABLE inbox ADD COLUMN conversation_ref TEXT;
      UPDATE inbox SET conversation_ref = (SELECT m.conversation_ref FROM messages m WHERE m.event_id = inbox.event_id) WHERE conversation_ref IS NULL;
      CREATE INDEX inbox_conversation ON inbox (team_id, conversation_ref)
    `,
  },
  {
    version: 11,
    name: 'the receipt signing key every instance sharing the database signs with',
    // One row: the first instance registers its public key; one with another key refuses to start.
    sql: `
      CREATE TABLE receipt_signing_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        public_key TEXT NOT NULL,
        registered_at {bigint} NOT NULL
      )
    `,
  },
  {
    version: 12,
    name: 'lifecycle job writes fenced by the token of the last write',
    // Each write of a job's state replaces the token, conditional on the one its writer last
    // wrote: a worker whose last batch a crash lost, or whose lease another worker took, writes
    // nothing more (lifecycle/lifecycle-jobs).
    sql: `ALTER TABLE lifecycle_jobs ADD COLUMN fence TEXT`,
  },
];

export async function migrate(db: SqlDatabase): Promise<number[]> {
  const types =
    db.dialect === 'postgres'
      ? { blob: 'BYTEA', bigint: 'BIGINT', serial: 'BIGSERIAL PRIMARY KEY' }
      : { blob: 'BLOB', bigint: 'INTEGER', serial: 'INTEGER PRIMARY KEY AUTOINCREMENT' };
  // Under the lock as well: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a
  // concurrent one (two replicas starting on an empty database).
  await db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(7236541)');
    await tx.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${types.bigint} NOT NULL)`,
    );
  });
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    await db.transaction(async (tx) => {
      // Instances starting together: one applies each version, the others wait and skip it.
      if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(7236541)');
      const done = await tx.all<{ version: number }>(
        'SELECT version FROM schema_migrations WHERE version = ?',
        [m.version],
      );
      if (done.length > 0) return;
      const sql = m.sql
        .replace(/\{blob\}/g, types.blob)
        .replace(/\{bigint\}/g, types.bigint)
        .replace(/\{serial\}/g, types.serial);
      for (const statement of sql
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        Date.now(),
      ]);
      applied.push(m.version);
    });
  }
  return applied;
}
