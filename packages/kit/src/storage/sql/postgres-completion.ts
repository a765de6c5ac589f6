import type { SqlRunner } from './sql-database';
import type { SealedEffect } from './sql-outbox';

/** An event to mark handled, with what its handler produced. */
export interface EventCompletion {
  eventId: string;
  sealed: readonly SealedEffect[];
  handover?: { teamId: string; conversationRef: string };
  echoOf?: { teamId: string; effectId: string };
}

/**
 * One statement (a round trip, atomic alone): the events still leased by `owner` are marked
 * handled, and only theirs are written: their outbox rows (inserted, and numbered by `seq`, in
 * array order), handovers and echoes (a row whose send left, settled). The rows touched are
 * disjoint: a won event's effects are new (their ids derive from the event), an echo settles an
 * effect already attempted.
 */
const COMPLETE = `WITH won AS (
    UPDATE inbox SET handled_at = ?, payload = NULL, lease_owner = NULL, lease_until = NULL
    WHERE handled_at IS NULL AND dead_at IS NULL AND lease_owner = ? AND event_id = ANY(?::text[])
    RETURNING event_id),
  effects AS (
    INSERT INTO outbox (effect_id, event_id, team_id, subject_ref, lane, kind, payload, state, created_at, next_at)
    SELECT effect_id, event_id, team_id, subject_ref, lane, kind, payload, 'pending', created_at, next_at
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::bigint[], ?::bigint[], ?::text[])
      WITH ORDINALITY AS r(effect_id, event_id, team_id, subject_ref, lane, kind, payload, created_at, next_at, by_event, ord)
    WHERE r.by_event IN (SELECT event_id FROM won)
    ORDER BY ord ON CONFLICT (effect_id) DO NOTHING),
  handovers AS (
    UPDATE conversations c SET status = 'handed_over'
    FROM unnest(?::text[], ?::text[], ?::text[]) AS h(by_event, team_id, conversation_ref)
    WHERE h.by_event IN (SELECT event_id FROM won)
      AND c.team_id = h.team_id AND c.conversation_ref = h.conversation_ref AND c.status = 'bot'),
  echoes AS (
    DELETE FROM outbox o USING unnest(?::text[], ?::text[], ?::text[]) AS e(by_event, effect_id, team_id)
    WHERE e.by_event IN (SELECT event_id FROM won)
      AND o.effect_id = e.effect_id AND o.team_id = e.team_id AND o.state = 'pending' AND o.attempted_at IS NOT NULL)
  SELECT event_id FROM won`;

/** Completes `events` (each id once) for `owner`; resolves with the ids it won. */
export async function completeInOneStatement(
  tx: SqlRunner,
  now: number,
  owner: string,
  events: readonly EventCompletion[],
): Promise<Set<string>> {
  const rows = events.flatMap((e) => e.sealed.map((s) => [...s.params, e.eventId]));
  const effectColumns = Array.from({ length: 10 }, (_, c) => rows.map((r) => r[c]));
  const handovers = events.flatMap((e) => (e.handover ? [{ eventId: e.eventId, ...e.handover }] : []));
  const echoes = events.flatMap((e) => (e.echoOf ? [{ eventId: e.eventId, ...e.echoOf }] : []));
  const won = await tx.all<{ event_id: string }>(COMPLETE, [
    now,
    owner,
    events.map((e) => e.eventId).sort(),
    ...effectColumns,
    handovers.map((h) => h.eventId),
    handovers.map((h) => h.teamId),
    handovers.map((h) => h.conversationRef),
    echoes.map((e) => e.eventId),
    echoes.map((e) => e.effectId),
    echoes.map((e) => e.teamId),
  ]);
  return new Set(won.map((r) => r.event_id));
}
