/**
 * How much a secret would cost to guess, estimated from what it is made of: a repeated pattern
 * counts once ("ab" × 16 is "ab"), a common word counts as one symbol ("password" × 4 is one
 * word), and each remaining symbol counts by the alphabet it is drawn from (hex, letters, digits,
 * punctuation, or raw bytes), or by the symbols it actually uses when those are few. Generated
 * secrets (`openssl rand -hex 32`: 256 bits) pass with room; anything typed by hand rarely does.
 */
export const GENERATE_HINT = 'generate one with `openssl rand -hex 32`';

const COMMON_WORDS = [
  'password',
  'passw0rd',
  'secret',
  'admin',
  'token',
  'changeme',
  'letmein',
  'qwerty',
  'azerty',
  'welcome',
  'default',
  'example',
  'iloveyou',
  'monkey',
  'dragon',
  'master',
  'login',
  'abc123',
  '123456',
  'clickdesk',
  'metrics',
];
const WORD = new RegExp(COMMON_WORDS.join('|'), 'gi');

/** Estimated bits of entropy of a secret given as text or as key bytes. */
export function estimateEntropyBits(secret: string | Buffer): number {
  const text =
    typeof secret === 'string' ? secret : isPrintable(secret) ? secret.toString('latin1') : undefined;
  if (text === undefined) return symbolBits([...shortestPeriod([...(secret as Buffer)])], 256);
  const symbols = [...shortestPeriod([...text.replace(WORD, '\u0000')])];
  return symbolBits(symbols, alphabetOf(symbols));
}

/** Why a token cannot be used, or undefined when it can. */
export function secretStrengthProblem(secret: string | Buffer, minBits: number): string | undefined {
  if (typeof secret === 'string' && /\s/.test(secret))
    return `contains whitespace (a copy-and-paste slip?); ${GENERATE_HINT}`;
  const bits = Math.floor(estimateEntropyBits(secret));
  if (bits < minBits)
    return `is too easy to guess (about ${bits} bits of entropy, ${minBits} needed: no repeated patterns or common words); ${GENERATE_HINT}`;
  return undefined;
}

function symbolBits<T>(symbols: T[], alphabet: number): number {
  const distinct = new Set(symbols).size;
  // Few distinct symbols for its length (aaaaaaab…): it is drawn from those, not the alphabet.
  const used = distinct * 4 < Math.min(alphabet, symbols.length) ? distinct : alphabet;
  return symbols.length * Math.log2(Math.max(2, used));
}

/** The shortest prefix the whole sequence repeats (with a partial tail), or the sequence. */
function shortestPeriod<T>(xs: T[]): T[] {
  for (let p = 1; p <= xs.length / 2; p++) if (xs.every((x, i) => x === xs[i % p])) return xs.slice(0, p);
  return xs;
}

function alphabetOf(symbols: string[]): number {
  const s = symbols.join('');
  if (/^[0-9a-f\u0000]*$/.test(s) || /^[0-9A-F\u0000]*$/.test(s)) return 16;
  let size = 0;
  if (/[a-z]/.test(s)) size += 26;
  if (/[A-Z]/.test(s)) size += 26;
  if (/[0-9]/.test(s)) size += 10;
  if (/[^A-Za-z0-9\u0000]/.test(s)) size += 33;
  return Math.max(size, 2);
}

function isPrintable(bytes: Buffer): boolean {
  return bytes.every((b) => b >= 0x20 && b < 0x7f);
}
