import type { SqlDatabase } from '../storage/sql/sql-database';
import type { Job } from './lifecycle-jobs';
import { sealedKeyIdSql } from './sealed-tables';

/** One DELETE of an erasure, run in batches when it has a key. */
export interface DeleteStep {
  table: string;
  /** Counted under this name in the receipt. */
  name: string;
  where: string;
  params: unknown[];
  /** Primary key to delete by in batches; absent for small tables deleted in one statement. */
  key?: string;
  /**
   * Rows of another table keyed by the same values, deleted in the same batch and counted under
   * their own name: the inbox rows of message events, which are filed only by their message.
   */
  alsoFrom?: { table: string; name: string };
}

/** A message event's inbox row is filed by its message (same event id): they go together. */
const WITH_INBOX_ROWS = { table: 'inbox', name: 'inbox_events' };

const KEYS_PER_STATEMENT = 200;

/**
 * What a job deletes (Terms 6.3, 6.4, 12.4): a visitor's conversations whole, then everything
 * filed under the subject or sealed under their destroyed keys; a team's rows; or every row.
 */
export function erasureSteps(job: Job, dialect: SqlDatabase['dialect']): DeleteStep[] {
  const s = job.scope;
  if (s.kind === 'subject') {
    const p = [s.teamId, s.subjectRef];
    const steps: DeleteStep[] = [];
    if (s.subjectKind === 'visitor') {
      // The visitor's conversations whole (Terms 6.3): agent, bot and system messages, and every
      // event of them (the bot's echoes too), with what they were still to send. The conversation
      // rows go last, so each step can still find the conversations.
      const ofConversations =
        'conversation_ref IN (SELECT conversation_ref FROM conversations WHERE team_id = ? AND visitor_ref = ?)';
      steps.push(
        {
          table: 'outbox',
          name: 'outbox_effects',
          where:
            'team_id = ? AND lane IN (SELECT conversation_ref FROM conversations WHERE team_id = ? AND visitor_ref = ?)',
          params: [s.teamId, ...p],
          key: 'effect_id',
        },
        {
          table: 'outbox',
          name: 'outbox_effects',
          where: `team_id = ? AND event_id IN (SELECT event_id FROM inbox WHERE team_id = ? AND ${ofConversations})`,
          params: [s.teamId, s.teamId, ...p],
          key: 'effect_id',
        },
        {
          table: 'inbox',
          name: 'inbox_events',
          where: `team_id = ? AND ${ofConversations}`,
          params: [s.teamId, ...p],
          key: 'event_id',
        },
      );
      steps.push({
        table: 'messages',
        name: 'messages',
        where:
          'team_id = ? AND conversation_ref IN (SELECT conversation_ref FROM conversations WHERE team_id = ? AND visitor_ref = ?)',
        params: [s.teamId, ...p],
        key: 'event_id',
        alsoFrom: WITH_INBOX_ROWS,
      });
    }
    steps.push(
      {
        table: 'messages',
        name: 'messages',
        where: 'team_id = ? AND subject_ref = ?',
        params: p,
        key: 'event_id',
        alsoFrom: WITH_INBOX_ROWS,
      },
      {
        table: 'inbox',
        name: 'inbox_events',
        where: 'team_id = ? AND subject_ref = ?',
        params: p,
        key: 'event_id',
      },
      ...sealedUnder(job, dialect, 'inbox', 'inbox_events', 'payload', 'event_id'),
      // Replies not yet delivered and dead letters about this person.
      {
        table: 'outbox',
        name: 'outbox_effects',
        where: 'team_id = ? AND subject_ref = ?',
        params: p,
        key: 'effect_id',
      },
      ...sealedUnder(job, dialect, 'outbox', 'outbox_effects', 'payload', 'effect_id'),
      { table: 'profiles', name: 'profiles', where: 'team_id = ? AND subject_ref = ?', params: p },
      {
        table: 'conversations',
        name: 'conversations',
        where: 'team_id = ? AND visitor_ref = ?',
        params: p,
      },
    );
    return steps;
  }
  if (s.kind === 'team') {
    const p = [s.teamId];
    return [
      { table: 'messages', name: 'messages', where: 'team_id = ?', params: p, key: 'event_id' },
      { table: 'inbox', name: 'inbox_events', where: 'team_id = ?', params: p, key: 'event_id' },
      { table: 'outbox', name: 'outbox_effects', where: 'team_id = ?', params: p, key: 'effect_id' },
      { table: 'profiles', name: 'profiles', where: 'team_id = ?', params: p },
      { table: 'conversations', name: 'conversations', where: 'team_id = ?', params: p },
      // Its tokens were sealed under the team key just shredded; the row goes too.
      { table: 'installations', name: 'installations', where: 'team_id = ?', params: p },
    ];
  }
  return [
    { table: 'messages', name: 'messages', where: '1 = 1', params: [], key: 'event_id' },
    { table: 'inbox', name: 'inbox_events', where: '1 = 1', params: [], key: 'event_id' },
    { table: 'outbox', name: 'outbox_effects', where: '1 = 1', params: [], key: 'effect_id' },
    { table: 'profiles', name: 'profiles', where: '1 = 1', params: [] },
    { table: 'conversations', name: 'conversations', where: '1 = 1', params: [] },
    { table: 'installations', name: 'installations', where: '1 = 1', params: [] },
    { table: 'oauth_states', name: 'oauth_states', where: '1 = 1', params: [] },
    { table: 'tombstones', name: 'tombstones', where: '1 = 1', params: [] },
    { table: 'webhook_deliveries', name: 'webhook_ids', where: '1 = 1', params: [] },
    { table: 'data_keys', name: 'data_keys', where: '1 = 1', params: [] },
  ];
}

/** Rows of the team sealed under the destroyed keys, whoever they are filed under (e.g. events of the visitor's conversation). */
function sealedUnder(
  job: Job,
  dialect: SqlDatabase['dialect'],
  table: string,
  name: string,
  column: string,
  key: string,
): DeleteStep[] {
  if (job.scope.kind !== 'subject') return [];
  const teamId = job.scope.teamId;
  const steps: DeleteStep[] = [];
  const ids = job.progress.keysDestroyed;
  for (let i = 0; i < ids.length; i += KEYS_PER_STATEMENT) {
    const chunk = ids.slice(i, i + KEYS_PER_STATEMENT);
    steps.push({
      table,
      name,
      where: `team_id = ? AND ${column} IS NOT NULL AND ${sealedKeyIdSql(dialect, column)} IN (${chunk.map(() => '?').join(', ')})`,
      params: [teamId, ...chunk],
      key,
    });
  }
  return steps;
}
