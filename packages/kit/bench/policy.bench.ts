import type { InboundEvent } from '../src/core/chat-event';
import { ChannelPolicy } from '../src/policy/channel-policy';
import { MUST_BLOCK, MUST_PASS, TEAM_DOMAINS } from '../test/policy/outbound-corpus';
import { ChannelPolicy as BaselinePolicy } from './policy-baseline/channel-policy';
import { median, type BenchReport } from './report';

interface Checker {
  observe(inbound: InboundEvent): void;
  check(teamId: string, conversationId: string, text: string): { allowed: boolean };
}

const visitorSaid = (conversationId: string, text: string): InboundEvent => ({
  eventId: `E-${conversationId}`,
  teamId: 'T1',
  eventTime: 0,
  event: { type: 'message', conversationId, sender: { kind: 'visitor', id: 'V1' }, text, ts: '1' },
});

const CORPUS = [...MUST_BLOCK, ...MUST_PASS];

/** µs per outbound message: every corpus message checked `messages` times in all. */
function perMessage(policy: Checker, messages: number): number {
  CORPUS.forEach((e, i) => e.visitorSaid && policy.observe(visitorSaid(`C${i}`, e.visitorSaid)));
  let blocked = 0;
  const start = process.hrtime.bigint();
  for (let n = 0; n < messages; n++) {
    const i = n % CORPUS.length;
    if (!policy.check('T1', `C${i}`, CORPUS[i]?.text ?? '').allowed) blocked += 1;
  }
  const us = Number(process.hrtime.bigint() - start) / 1e3 / messages;
  if (blocked === 0) throw new Error('the policy blocked nothing: the benchmark measured no work');
  return us;
}

/** Corpus messages a policy judges wrongly (blocks what must pass, passes what must be blocked). */
function misjudged(make: () => Checker): number {
  let wrong = 0;
  CORPUS.forEach((e, i) => {
    const policy = make();
    if (e.visitorSaid) policy.observe(visitorSaid(`C${i}`, e.visitorSaid));
    const blocked = !policy.check('T1', `C${i}`, e.text).allowed;
    if (blocked !== MUST_BLOCK.includes(e)) wrong += 1;
  });
  return wrong;
}

/**
 * The channel policy's cost per outbound message (links by linkify-it + tlds, phone numbers by
 * libphonenumber-js) against the hand-written policy it replaced, run on the same corpus in
 * the same process, in interleaved rounds.
 */
export function policyBenchmark(
  opts: { messages: number; rounds: number },
  progress: (line: string) => void,
): BenchReport {
  const makeBaseline = (): Checker => new BaselinePolicy({ allowedDomains: TEAM_DOMAINS });
  const makeCurrent = (): Checker => new ChannelPolicy({ allowedDomains: TEAM_DOMAINS, phoneCountry: 'NL' });
  // Warm-up: compile regular expressions, load phone metadata.
  perMessage(makeBaseline(), 2_000);
  perMessage(makeCurrent(), 2_000);
  const baseline: number[] = [];
  const current: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    progress(`policy, round ${r + 1}/${opts.rounds}`);
    baseline.push(perMessage(makeBaseline(), opts.messages));
    current.push(perMessage(makeCurrent(), opts.messages));
  }
  return {
    name: `channel policy: ${CORPUS.length}-message corpus, ${opts.messages} checks per round, median of ${opts.rounds}`,
    rows: [
      { label: 'hand-written policy (baseline), µs/message', value: median(baseline) },
      { label: 'linkify-it + tlds + libphonenumber-js, µs/message', value: median(current) },
      { label: 'ratio libraries / hand-written', value: median(current) / median(baseline), ratio: true },
      { label: 'corpus messages misjudged, hand-written', value: misjudged(makeBaseline) },
      { label: 'corpus messages misjudged, libraries', value: misjudged(makeCurrent) },
    ],
    notes: ['the baseline is the previous src/policy, kept in bench/policy-baseline/'],
  };
}
