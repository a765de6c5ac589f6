import { z } from 'zod';
import { TEAM_ID_PATTERN } from '../core/team-id';

/** The lifecycle webhooks of docs/clickdesk-contract.md §4, and what each one erases. */
const subject = z.object({ kind: z.enum(['visitor', 'agent']), id: z.string().min(1).max(200) });
const team = z.string().regex(TEAM_ID_PATTERN, 'is not a team id (reserved or malformed)');

export const lifecycleEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('data_deletion.requested'),
    team_id: team,
    subject,
    requested_at: z.union([z.number(), z.string()]).optional(),
  }),
  z.object({
    type: z.literal('app.deauthorized'),
    team_id: team,
    subject: subject.extend({ kind: z.literal('agent') }),
  }),
  z.object({ type: z.literal('account.closed'), team_id: team, subject }),
  z.object({ type: z.literal('app.uninstalled'), team_id: team }),
  z.object({
    type: z.literal('api_access.terminated'),
    app_id: z.string().min(1).max(200),
    reason: z.string().max(2000).optional(),
  }),
]);

export type LifecycleEvent = z.infer<typeof lifecycleEventSchema>;

/** What a job erases: one person of a team (Terms 6.3), a whole team (6.3), or everything (6.4, 12.4). */
export type ErasureScope =
  | { kind: 'subject'; teamId: string; subjectKind: 'visitor' | 'agent'; subjectRef: string }
  | { kind: 'team'; teamId: string }
  | { kind: 'all' };

export function scopeOf(
  event: LifecycleEvent,
  refOf: (teamId: string, kind: 'visitor' | 'agent', id: string) => string,
): ErasureScope {
  switch (event.type) {
    case 'data_deletion.requested':
    case 'app.deauthorized':
    case 'account.closed':
      return {
        kind: 'subject',
        teamId: event.team_id,
        subjectKind: event.subject.kind,
        subjectRef: refOf(event.team_id, event.subject.kind, event.subject.id),
      };
    case 'app.uninstalled':
      return { kind: 'team', teamId: event.team_id };
    case 'api_access.terminated':
      return { kind: 'all' };
  }
}
