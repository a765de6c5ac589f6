import express from 'express';

/** Who runs the app, as the legal pages name them (OPERATOR_NAME, OPERATOR_CONTACT). */
export interface LegalOperator {
  readonly name: string | undefined;
  readonly contact: string | undefined;
}

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
<h1>${title}</h1>
${body}
<hr><p><a href="/privacy">Privacy policy</a> · <a href="/terms">User agreement</a></p>
</body></html>`;

/**
 * /privacy and /terms (Terms 7): the operator's name and contact come from the configuration;
 * unset, a bracketed placeholder says what to set. Each page links to the other; the
 * visitor-facing chat page links to both.
 */
export function legalPages(operator: LegalOperator): { privacy: string; terms: string } {
  const who = escapeHtml(operator.name ?? '[your organisation: set OPERATOR_NAME]');
  const contact = escapeHtml(operator.contact ?? '[contact address: set OPERATOR_CONTACT]');
  return {
    privacy: page(
      'Privacy policy',
      `<p>This chat assistant is operated by <strong>${who}</strong>. It is not operated, endorsed or sponsored by ClickDesk.</p>
<h2>What we collect</h2><p>The messages you write in the support chat, your name and the contact details you give, as delivered by the chat service.</p>
<h2>How we use it</h2><p>Only to answer you and to pass your conversation to our support team. We never use it for advertising, never target advertising with it, and never contact you outside the chat with the details you gave in it.</p>
<h2>How we store it</h2><p>Encrypted (XChaCha20-Poly1305, keys per person). Cached copies are refreshed from the chat service at least every 24 hours or deleted.</p>
<h2>Deletion and access</h2><p>Ask us, or the chat service, to delete your data and we erase it from our systems, backups included, and keep a signed receipt that we did. You may ask for a copy of everything we hold about you: <strong>${contact}</strong>.</p>
<h2>Breaches</h2><p>We notify the chat service and affected users promptly of any breach affecting you.</p>`,
    ),
    terms: page(
      'User agreement',
      `<p>By chatting with this assistant you agree that <strong>${who}</strong> processes your messages as described in the <a href="/privacy">privacy policy</a>.</p>
<p>The assistant answers common questions automatically and may be wrong; ask for a person at any time to reach one.</p>
<p>Questions: <strong>${contact}</strong>.</p>`,
    ),
  };
}

export function legalPagesRouter(operator: LegalOperator): express.Router {
  const { privacy, terms } = legalPages(operator);
  const router = express.Router();
  router.get('/privacy', (_req, res) => void res.type('html').send(privacy));
  router.get('/terms', (_req, res) => void res.type('html').send(terms));
  return router;
}
