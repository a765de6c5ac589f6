import type { InboundEvent } from '../../src/core/chat-event';
import tlds from 'tlds';
import { ChannelPolicy } from '../../src/policy/channel-policy';
import { MUST_BLOCK, MUST_PASS, TEAM_DOMAINS, type CorpusEntry } from './outbound-corpus';

let n = 0;
const visitorMessage = (conversationId: string, text: string): InboundEvent => ({
  eventId: `E${++n}`,
  teamId: 'T1',
  eventTime: 0,
  event: { type: 'message', conversationId, sender: { kind: 'visitor', id: 'V1' }, text, ts: '1' },
});

function judge(entry: CorpusEntry, policy = new ChannelPolicy({ allowedDomains: TEAM_DOMAINS })) {
  const conversationId = `C${++n}`;
  if (entry.visitorSaid) policy.observe(visitorMessage(conversationId, entry.visitorSaid));
  return policy.check('T1', conversationId, entry.text);
}

describe('channel policy (Terms 4.8, 5)', () => {
  it('has a corpus of at least 60 messages, half of them to block', () => {
    expect(MUST_BLOCK.length + MUST_PASS.length).toBeGreaterThanOrEqual(60);
    expect(MUST_BLOCK.length).toBeGreaterThanOrEqual(30);
    expect(MUST_PASS.length).toBeGreaterThanOrEqual(30);
  });

  it('blocks every advertising and impersonating message in the corpus', () => {
    const missed = MUST_BLOCK.filter((e) => judge(e).allowed).map((e) => e.text);
    expect(missed).toEqual([]);
  });

  it('lets every ordinary support answer in the corpus through', () => {
    const blocked = MUST_PASS.map((e) => ({ text: e.text, verdict: judge(e) })).filter(
      (r) => !r.verdict.allowed,
    );
    expect(blocked).toEqual([]);
  });

  it.each([
    ['Sponsored: try X', 'sponsored'],
    ['See https://other.example/x', 'external_link'],
    ['See https://acme-shop.com/x?utm_campaign=y', 'tracking_link'],
    ['ClickDesk: hello', 'impersonation'],
    ['Buy now and save!', 'advertising'],
  ])('names the rule that blocked "%s"', (text, rule) => {
    expect(judge({ text })).toEqual({ allowed: false, rule });
  });

  it("never lets ClickDesk's name into a bot message, however it is spelled", () => {
    for (const text of [
      'ClickDesk: hello',
      'Team CLICKDESK',
      'Click Desk here',
      'c-l-i-c-k-d-e-s-k',
      'Cl1ckD3sk',
      'Сlickdesk',
    ]) {
      expect(judge({ text })).toEqual({ allowed: false, rule: 'impersonation' });
    }
  });

  it('blocks gambling promotion', () => {
    expect(judge({ text: 'Feeling lucky? Try our casino tonight' })).toEqual({
      allowed: false,
      rule: 'advertising',
    });
    expect(judge({ text: 'Best betting odds on the match' })).toEqual({
      allowed: false,
      rule: 'advertising',
    });
  });

  it('allows a discount code only in a conversation where the visitor asked about discounts', () => {
    const policy = new ChannelPolicy({ allowedDomains: [] });
    policy.observe(visitorMessage('asked', 'any discount codes?'));
    expect(policy.check('T1', 'asked', 'Use code SPRING10 at checkout.').allowed).toBe(true);
    expect(policy.check('T1', 'other', 'Use code SPRING10 at checkout.').allowed).toBe(false);
  });

  it('lets a contact detail back into its own conversation only', () => {
    const policy = new ChannelPolicy({ allowedDomains: [], phoneCountry: 'NL' });
    policy.observe(
      visitorMessage('C-ada', 'I am Ada, mail me at Ada.Lovelace@Example.org or call 06-1234 5678'),
    );
    expect(policy.check('T1', 'C-ada', 'We will write to ada.lovelace@example.org').allowed).toBe(true);
    expect(policy.check('T1', 'C-bob', 'Ada can be reached at ada.lovelace@example.org')).toEqual({
      allowed: false,
      rule: 'contact_leak',
    });
    expect(policy.check('T1', 'C-bob', 'try ada.lovelace [at] example [dot] org')).toEqual({
      allowed: false,
      rule: 'contact_leak',
    });
    expect(policy.check('T1', 'C-bob', 'call +31 6 1234 5678')).toEqual({
      allowed: false,
      rule: 'contact_leak',
    });
  });

  it.each([
    ['+49 (0) 30 901820', 'ring 0049 30 901820'],
    ['+1 (415) 555-2671', 'try +1.415.555.2671'],
    ['+81 3-1234-5678', 'call +81 3 1234 5678'],
    ['+33 1 42 68 53 00', 'phone 0033 1 42 68 53 00'],
    ['+852 2123 4567', 'dial +852-2123-4567'],
  ])('recognises the visitor number "%s" in another conversation written as "%s"', (said, sent) => {
    const policy = new ChannelPolicy({ allowedDomains: [], phoneCountry: 'NL' });
    policy.observe(visitorMessage('C-said', `you can call me on ${said}`));
    expect(policy.check('T1', 'C-said', sent).allowed).toBe(true);
    expect(policy.check('T1', 'C-other', sent)).toEqual({ allowed: false, rule: 'contact_leak' });
  });

  it("takes neither another country's number with the same digits nor a date for a visitor's number", () => {
    const policy = new ChannelPolicy({ allowedDomains: [], phoneCountry: 'NL' });
    policy.observe(visitorMessage('C-ada', 'call +31 6 1234 5678 after 2026-01-05'));
    expect(policy.check('T1', 'C-bob', 'our Brussels shop: +32 6 1234 5678').allowed).toBe(true);
    expect(policy.check('T1', 'C-bob', 'the sale ends 2026-01-05').allowed).toBe(true);
  });

  it('finds national phone formats only for the configured country, international ones always', () => {
    const any = new ChannelPolicy({ allowedDomains: [] });
    any.observe(visitorMessage('C-uk', 'ring me: +44 20 7946 0018'));
    expect(any.check('T1', 'C-x', 'try +44 20 7946 0018').allowed).toBe(false);
    expect(any.check('T1', 'C-x', 'try 020 7946 0018').allowed).toBe(true);
    const uk = new ChannelPolicy({ allowedDomains: [], phoneCountry: 'GB' });
    uk.observe(visitorMessage('C-uk', 'ring me: +44 20 7946 0018'));
    expect(uk.check('T1', 'C-x', 'try 020 7946 0018')).toEqual({ allowed: false, rule: 'contact_leak' });
  });

  it('sees a bare domain under every top-level domain IANA lists as a link', () => {
    const ascii = tlds.filter((t) => /^[a-z]+$/.test(t));
    expect(ascii.length).toBeGreaterThan(1000);
    const policy = new ChannelPolicy({ allowedDomains: TEAM_DOMAINS });
    const missed = ascii.filter(
      (tld) => policy.check('T1', 'C', `more at great-offers.${tld} today`).allowed,
    );
    expect(missed).toEqual([]);
  });

  it('allows links to the team domain and its subdomains only', () => {
    const policy = new ChannelPolicy({ allowedDomains: ['acme-shop.com'] });
    expect(policy.check('T1', 'C', 'https://help.acme-shop.com/a').allowed).toBe(true);
    expect(policy.check('T1', 'C', 'https://acme-shop.com.evil.example/a').allowed).toBe(false);
    expect(policy.check('T1', 'C', 'https://evilacme-shop.com/a').allowed).toBe(false);
  });
});
