/**
 * Plays the installing admin's browser through the real install flow, with no shortcut: the
 * app's `GET /install` (and its state cookie), ClickDesk's consent page, Allow or Cancel, and the
 * app's callback. Sandbox mode installs its default team this way at start; tests use it too.
 */
export async function installThroughConsent(
  appUrl: string,
  teamId: string,
  decision: 'allow' | 'cancel' = 'allow',
): Promise<{ status: number; page: string }> {
  const { callback, cookie } = await consentRedirect(appUrl, teamId, decision);
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie } });
  return { status: done.status, page: await done.text() };
}

/**
 * The first half: where ClickDesk sends the browser back to, and the browser's state cookie.
 * `redirectUri` replaces the app's own on the consent form (to see what ClickDesk does with it).
 */
export async function consentRedirect(
  appUrl: string,
  teamId: string,
  decision: 'allow' | 'cancel' = 'allow',
  redirectUri?: string,
): Promise<{ callback: string; cookie: string; state: string }> {
  const start = await fetch(new URL('/install', appUrl), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const startPage = await start.text();
  const href = /id="add-to-clickdesk" href="([^"]+)"/.exec(startPage)?.[1];
  if (start.status !== 200 || !href)
    throw new Error(`GET /install answered ${start.status} without an install link`);
  const authorize = new URL(unescapeHtml(href));
  authorize.searchParams.set('team', teamId);

  const consent = await fetch(authorize, { redirect: 'manual' });
  const consentPage = await consent.text();
  if (consent.status !== 200) throw new Error(`the consent page answered ${consent.status}`);
  const form = new URLSearchParams();
  for (const m of consentPage.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    form.set(m[1] ?? '', unescapeHtml(m[2] ?? ''));
  form.set('team_id', teamId);
  form.set('decision', decision);
  if (redirectUri) form.set('redirect_uri', redirectUri);

  const decided = await fetch(authorize.origin + authorize.pathname, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const back = decided.headers.get('location');
  if (decided.status !== 302 || !back)
    throw new Error(`the consent page did not redirect (${decided.status})`);
  return { callback: back, cookie, state: form.get('state') ?? '' };
}

function unescapeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
