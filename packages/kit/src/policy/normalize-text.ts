/**
 * Text normalisation for the channel policy, so that look-alike characters, invisible
 * characters and spacing tricks cannot slip past a rule.
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ӏ: 'l',
  ɡ: 'g',
  ԛ: 'q',
  ԝ: 'w',
  ү: 'y',
  һ: 'h',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  μ: 'm',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin variants NFKC leaves alone
  ı: 'i',
  ł: 'l',
  ø: 'o',
  ß: 'ss',
  ƒ: 'f',
};

const INVISIBLE =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff]/g;

/** Lower case, compatibility-folded (fullwidth, math bold…), look-alikes mapped to Latin, invisibles removed. */
export function foldText(text: string): string {
  // Plain ASCII has no look-alikes, compatibility forms or invisible characters to undo.
  if (/^[\x20-\x7e\t\n\r]*$/.test(text)) return text.toLowerCase();
  const nfkc = text.normalize('NFKC').replace(INVISIBLE, '').toLowerCase();
  let out = '';
  for (const ch of nfkc.normalize('NFD').replace(/\p{Mn}/gu, '')) out += CONFUSABLES[ch] ?? ch;
  return out;
}

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'l',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
};

/** Letters only, with digit/symbol look-alikes read as letters: "C-1-i c k D e $ k" → "clickdesk". */
export function compactLetters(folded: string): string {
  let out = '';
  for (const ch of folded) {
    const mapped = LEET[ch] ?? ch;
    if (/\p{L}/u.test(mapped)) out += mapped;
  }
  return out.replace(/i/g, 'l');
}

/** Undoes the usual ways of writing a link or address so it escapes filters. */
export function deobfuscate(folded: string): string {
  return (
    folded
      .replace(/h\s*[x*]{2}\s*p(s?)/g, 'http$1')
      .replace(/\s*[[({<]\s*(?:\.|dot)\s*[\])}>]\s*/g, '.')
      .replace(/\s+dot\s+(?=[a-z0-9])/g, '.')
      // Domains spaced out around their dots and hyphens: "deals . shop", "cheap - meds .net". A
      // space must stand before the dot, so prose ("shipping. Free returns") is left alone.
      .replace(/([a-z0-9])\s+\.\s*(?=[a-z0-9])/g, '$1.')
      .replace(/([a-z0-9])\s+-\s+(?=[a-z0-9])/g, '$1-')
      .replace(/\s*[[({<]\s*(?:@|at)\s*[\])}>]\s*/g, '@')
      .replace(/\s*\[\s*:\s*\]\s*/g, ':')
      .replace(/:\s*\/\s*\//g, '://')
  );
}
