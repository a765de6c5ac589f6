import type { Response } from 'express';

/** A plain page of the install flow: a title, a few sentences, at most one link-button. */
export function installPage(
  res: Response,
  status: number,
  title: string,
  lines: string[],
  action?: { href: string; label: string; id: string },
): void {
  const button = action
    ? `<p><a id="${esc(action.id)}" href="${esc(action.href)}">${esc(action.label)}</a></p>`
    : '';
  res
    .status(status)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
        `<body><main><h1>${esc(title)}</h1>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}${button}</main></body></html>`,
    );
}

function esc(value: string): string {
  return value.replace(
    /[&"'<>]/g,
    (c) => ({ '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;' })[c] ?? c,
  );
}
