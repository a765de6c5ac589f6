import express from 'express';

/**
 * /privacy and /terms (Terms 7): templates a fork fills in. Each page links to the other; the
 * visitor-facing chat page links to both. Replace the bracketed parts before going live.
 */
const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
<h1>${title}</h1>
${body}
<hr><p><a href="/privacy">Privacy policy</a> · <a href="/terms">User agreement</a></p>
</body></html>`;

export const PRIVACY_HTML = page(
  'Privacy policy',
  `<p>This chat assistant is operated by <strong>[your organisation]</strong>. It is not operated, endorsed or sponsored by ClickDesk.</p>
<h2>What we collect</h2><p>The messages you write in the support chat, your name and the contact details you give, as delivered by the chat service.</p>
<h2>How we use it</h2><p>Only to answer you and to pass your conversation to our support team. We never use it for advertising, never target advertising with it, and never contact you outside the chat with the details you gave in it.</p>
<h2>How we store it</h2><p>Encrypted (XChaCha20-Poly1305, keys per person). Cached copies are refreshed from the chat service at least every 24 hours or deleted.</p>
<h2>Deletion and access</h2><p>Ask us, or the chat service, to delete your data and we erase it from our systems, backups included, and keep a signed receipt that we did. You may ask for a copy of everything we hold about you: <strong>[contact address]</strong>.</p>
<h2>Breaches</h2><p>We notify the chat service and affected users promptly of any breach affecting you.</p>`,
);

export const TERMS_HTML = page(
  'User agreement',
  `<p>By chatting with this assistant you agree that <strong>[your organisation]</strong> processes your messages as described in the <a href="/privacy">privacy policy</a>.</p>
<p>The assistant answers common questions automatically and may be wrong; type "talk to a human" at any time to reach a person.</p>
<p>Questions: <strong>[contact address]</strong>.</p>`,
);

export function legalPagesRouter(): express.Router {
  const router = express.Router();
  router.get('/privacy', (_req, res) => void res.type('html').send(PRIVACY_HTML));
  router.get('/terms', (_req, res) => void res.type('html').send(TERMS_HTML));
  return router;
}
