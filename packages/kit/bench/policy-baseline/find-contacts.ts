import { deobfuscate } from './normalize-text';

const EMAIL = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/g;
const PHONE = /(?:\+|\b00)?\d[\d\s().-]{5,18}\d\b/g;

/**
 * Email addresses and phone numbers in a (folded) text, normalised so the same detail
 * written two ways compares equal: emails lower case, phones as digits only.
 */
export function findContacts(folded: string): string[] {
  const text = deobfuscate(folded);
  const out = new Set<string>();
  for (const m of text.matchAll(EMAIL)) out.add(`email:${m[0]}`);
  for (const m of text.replace(EMAIL, ' ').matchAll(PHONE)) {
    const digits = m[0].replace(/\D/g, '').replace(/^00/, '');
    if (digits.length >= 7 && digits.length <= 15) out.add(`phone:${digits.slice(-9)}`);
  }
  return [...out];
}
