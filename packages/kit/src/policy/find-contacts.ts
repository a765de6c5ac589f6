import { findPhoneNumbersInText, type CountryCode } from 'libphonenumber-js';
import { deobfuscate } from './normalize-text';

const EMAIL = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/g;

/**
 * Email addresses and phone numbers in a (folded) text, normalised so the same detail
 * written two ways compares equal: emails lower case, phones in E.164 ("+31612345678").
 * Phone numbers are found and validated by libphonenumber-js: written internationally
 * ("+44 20 7946 0000", "0044 …" when the country dials 00) they are found under any country;
 * written nationally ("06-1234 5678") only when `phoneCountry` says whose national format it is.
 */
export function findContacts(folded: string, phoneCountry?: CountryCode): string[] {
  const text = deobfuscate(folded);
  const out = new Set<string>();
  for (const m of text.matchAll(EMAIL)) out.add(`email:${m[0]}`);
  const rest = text.replace(EMAIL, ' ');
  // No phone number anywhere has fewer than 5 digits; most messages have fewer than that.
  if ((rest.match(/\d/g)?.length ?? 0) >= 5)
    for (const found of findPhoneNumbersInText(rest, phoneCountry)) out.add(`phone:${found.number.number}`);
  return [...out];
}
