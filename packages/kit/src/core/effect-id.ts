import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9_-]{1,56}$/;

/**
 * The `client_msg_id` of an event's n-th effect (contract §1: 1–64 characters of
 * A-Z a-z 0-9 _ -). Same event, same position, same id: a replay produces the ids it produced
 * before. Event ids outside that alphabet (or too long) are hashed.
 */
export function effectIdOf(eventId: string, position: number): string {
  const base = SAFE.test(eventId)
    ? eventId
    : `h${createHash('sha256').update(eventId).digest('base64url').slice(0, 43)}`;
  return `${base}-${position}`;
}
