import { randomBytes } from 'node:crypto';
import { simulatorOptions } from '@clickdesk-bot/sandbox';
import type { Storage } from '../src/storage/open-storage';

/** The bench simulator's team: floods write to it, so a stored history belongs to it too. */
export const SIMULATOR_TEAM = simulatorOptions().teams[0]!.id;

/** Conversations the stored history is spread over. */
const HISTORY_CONVERSATIONS = 5_000;
const ROWS_PER_TRANSACTION = 50_000;

/**
 * Fills the database as weeks of chat would: `count` handled messages of `teamId` (the team the
 * flood then writes to), each with its handled inbox row, under random ClickDesk-style event ids
 * and blind refs of 5,000 past conversations, so every index the flood writes to is as large,
 * and its keys as scattered, as in a deployment that has run for a while. Bodies are random
 * ciphertext-sized bytes (nothing here is read back).
 */
export async function storeHistory(
  storage: Storage,
  teamId: string,
  count: number,
  progress: (line: string) => void,
): Promise<void> {
  const { db, ctx } = storage.sql!;
  const now = Date.now();
  const refs = Array.from({ length: HISTORY_CONVERSATIONS }, (_, c) => ({
    conversation: ctx.conversationRef(teamId, `H${c}`),
    visitor: ctx.subjectRef(teamId, { kind: 'visitor', id: `HV${c}` }),
  }));
  const body = randomBytes(190);
  for (let base = 0; base < count; base += ROWS_PER_TRANSACTION) {
    const n = Math.min(ROWS_PER_TRANSACTION, count - base);
    const ids = Array.from({ length: n }, () => `Ev${randomBytes(5).toString('hex').toUpperCase()}`);
    const ref = (i: number) => refs[(base + i) % HISTORY_CONVERSATIONS]!;
    if (db.dialect === 'postgres') {
      await db.run(
        `INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at)
         SELECT e, ?, c, s, 'visitor', ?, ?, ? FROM unnest(?::text[], ?::text[], ?::text[]) AS t(e, c, s) ON CONFLICT DO NOTHING`,
        [
          teamId,
          body,
          now,
          now,
          ids,
          ids.map((_, i) => ref(i).conversation),
          ids.map((_, i) => ref(i).visitor),
        ],
      );
      await db.run(
        `INSERT INTO inbox (event_id, team_id, subject_ref, received_at, handled_at)
         SELECT e, ?, '', ?, ? FROM unnest(?::text[]) AS t(e) ON CONFLICT DO NOTHING`,
        [teamId, now, now, ids],
      );
    } else {
      await db.transaction(async (tx) => {
        for (const [i, id] of ids.entries()) {
          const { conversation, visitor } = ref(i);
          await tx.run(
            'INSERT INTO messages (event_id, team_id, conversation_ref, subject_ref, sender_kind, body, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
            [id, teamId, conversation, visitor, 'visitor', body, now, now],
          );
          await tx.run(
            'INSERT INTO inbox (event_id, team_id, subject_ref, received_at, handled_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
            [id, teamId, '', now, now],
          );
        }
      });
    }
    progress(`  stored ${(base + n).toLocaleString('en-US')} of ${count.toLocaleString('en-US')} messages`);
  }
  await db.checkpoint();
  if (db.dialect === 'postgres') await db.run('ANALYZE');
}
