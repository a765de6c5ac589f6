/**
 * The team ids the app accepts from outside (ClickDesk's are "T…"): 1-100 letters, digits, '-'
 * and '_', starting with a letter or digit. Anything else (`*`, empty, spaces, dots) can never
 * name a team, so it can never name a value the app reserves for itself: the deployment's index
 * key is stored under team `*`, and whole-team tombstones use `*` as their subject. Every
 * boundary that takes a team id (lifecycle webhooks, RTM envelopes, installs, admin queries)
 * refuses what this does not accept.
 */
export const TEAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function isAddressableTeamId(value: unknown): value is string {
  return typeof value === 'string' && TEAM_ID_PATTERN.test(value);
}
