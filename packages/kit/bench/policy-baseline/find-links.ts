import { deobfuscate } from './normalize-text';

export interface FoundLink {
  host: string;
  /** Query parameter names, lower case. */
  params: string[];
}

const EMAIL = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/g;
const SCHEMED = /\b(?:https?|ftp):\/\/[^\s<>"'`)\]]+/g;
const WWW = /\bwww\.[^\s<>"'`)\]]+/g;
// A bare domain: labels and a 2–24 letter TLD, optionally with a path (e.g. "bit.ly/x", "deals.shop").
const BARE =
  /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:xn--[a-z0-9-]+|[a-z]{2,24})\b(?:\/[^\s<>"'`)\]]*)?/g;
// Bare "word.word" pairs that are ordinary prose, not domains.
const PROSE_TLDS = new Set([
  'e',
  'g',
  'i',
  'etc',
  'vs',
  'eg',
  'ie',
  'am',
  'pm',
  'mr',
  'mrs',
  'dr',
  'st',
  'no',
  'js',
  'ts',
  'json',
]);
const KNOWN_TLDS = new Set(
  'com net org io co ly me info biz shop store xyz app link click gl to us uk de nl fr es it eu ru cn tk ml ga cf gq top online site website club live pro vip win bid loan review page dev ai gg tv cc ws la ag sh ninja rocks email market deals sale fun buzz icu cam best'.split(
    ' ',
  ),
);

/** Every link in a (folded) text, written plainly or obfuscated; email addresses are not links. */
export function findLinks(folded: string): FoundLink[] {
  const text = deobfuscate(folded).replace(EMAIL, ' ');
  const found: FoundLink[] = [];
  const seen = new Set<string>();
  const add = (raw: string, requireKnownTld: boolean): void => {
    const candidate = raw.replace(/[.,;:!?]+$/, '');
    let url: URL;
    try {
      url = new URL(/^[a-z]+:\/\//.test(candidate) ? candidate : `http://${candidate}`);
    } catch {
      return;
    }
    const host = url.hostname.replace(/\.$/, '');
    const tld = host.split('.').pop() ?? '';
    if (!host.includes('.') || PROSE_TLDS.has(tld)) return;
    if (requireKnownTld && !KNOWN_TLDS.has(tld) && !tld.startsWith('xn--') && !candidate.includes('/'))
      return;
    const key = `${host}${url.search}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push({ host, params: [...url.searchParams.keys()].map((k) => k.toLowerCase()) });
  };
  for (const m of text.matchAll(SCHEMED)) add(m[0], false);
  for (const m of text.replace(SCHEMED, ' ').matchAll(WWW)) add(m[0], false);
  for (const m of text.replace(SCHEMED, ' ').replace(WWW, ' ').matchAll(BARE)) add(m[0], true);
  return found;
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.some((d) => host === d || host.endsWith(`.${d}`));
}
