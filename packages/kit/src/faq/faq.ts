import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CodedError } from '../errors';

const faqSchema = z.object({
  greeting: z.string().min(1),
  fallback: z.string().min(1),
  handover: z.object({
    keywords: z.array(z.string().min(1)).min(1),
    reply: z.string().min(1),
  }),
  intents: z
    .array(
      z.object({
        id: z.string().min(1),
        keywords: z.array(z.string().min(1)).min(1),
        answer: z.string().min(1),
      }),
    )
    .min(1),
});

export type Faq = z.infer<typeof faqSchema>;

/** Reads and validates a FAQ file; a bad file stops start-up with the JSON path at fault. */
export function loadFaq(file: string): Faq {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CodedError(
      'FAQ_INVALID',
      `Cannot read FAQ file ${file}: ${(err as Error).message}. Check BOT_FAQ_FILE.`,
      {
        cause: err,
      },
    );
  }
  const parsed = faqSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CodedError('FAQ_INVALID', `FAQ file ${file} is invalid: ${where}`);
  }
  return parsed.data;
}

const normalise = (text: string): string =>
  ` ${text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;

/** True when any keyword (a word or phrase) occurs in the text as whole words. */
export function mentions(text: string, keywords: readonly string[]): boolean {
  const haystack = normalise(text);
  return keywords.some((k) => haystack.includes(normalise(k)));
}

/** The intent whose keywords match most often; ties go to the earlier intent. */
export function matchIntent(faq: Faq, text: string): Faq['intents'][number] | undefined {
  const haystack = normalise(text);
  let best: Faq['intents'][number] | undefined;
  let bestScore = 0;
  for (const intent of faq.intents) {
    const score = intent.keywords.filter((k) => haystack.includes(normalise(k))).length;
    if (score > bestScore) {
      best = intent;
      bestScore = score;
    }
  }
  return best;
}
