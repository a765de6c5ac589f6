import { LinkifyIt } from 'linkify-it';
import tlds from 'tlds';
import { deobfuscate } from './normalize-text';

export interface FoundLink {
  host: string;
  /** Query parameter names, lower case. */
  params: string[];
}

const EMAIL = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/g;

// linkify-it finds schemed links (http, https, ftp, //) and bare domains ("bit.ly/x",
// "example.photography") under every top-level domain IANA lists (the `tlds` package), so a
// new or unusual TLD is a link like any other. Email addresses are not links here.
const linkify = new LinkifyIt({ fuzzyLink: true, fuzzyEmail: false }).tlds(tlds, false);
/** Cheap pre-check: a link has "//" or a dot followed by a letter; prose periods have a space. */
const MAY_HOLD_LINK = /\.\p{L}|\/\//u;

/** Every link in a (folded) text, written plainly or obfuscated; email addresses are not links. */
export function findLinks(folded: string): FoundLink[] {
  const text = deobfuscate(folded).replace(EMAIL, ' ');
  if (!MAY_HOLD_LINK.test(text)) return [];
  const found: FoundLink[] = [];
  const seen = new Set<string>();
  for (const match of linkify.match(text) ?? []) {
    let url: URL;
    try {
      url = new URL(match.url, 'http://invalid.invalid');
    } catch {
      continue;
    }
    const host = url.hostname.replace(/\.$/, '');
    if (!host.includes('.')) continue;
    const key = `${host}${url.search}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ host, params: [...url.searchParams.keys()].map((k) => k.toLowerCase()) });
  }
  return found;
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.some((d) => host === d || host.endsWith(`.${d}`));
}
