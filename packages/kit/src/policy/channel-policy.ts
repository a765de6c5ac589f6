import { LRUCache } from 'lru-cache';
import type { CountryCode } from 'libphonenumber-js';
import type { InboundEvent } from '../core/chat-event';
import { ContactLedger } from './contact-ledger';
import { findContacts } from './find-contacts';
import { findLinks, hostAllowed } from './find-links';
import { compactLetters, foldText } from './normalize-text';

/** Why a message was blocked: a bounded set, safe as a metric label. */
export type PolicyRule =
  'advertising' | 'sponsored' | 'external_link' | 'tracking_link' | 'impersonation' | 'contact_leak';

export type PolicyVerdict = { allowed: true } | { allowed: false; rule: PolicyRule };

export interface ChannelPolicyOptions {
  /** The team's own domains (and their subdomains) that the bot may link to. */
  allowedDomains: readonly string[];
  /** Whose national phone format visitors write in (ISO 3166 code, e.g. "NL"); international numbers need none. */
  phoneCountry?: CountryCode;
}

const SPONSORED =
  /(?:^|[^a-z])(?:sponsored|advertisement|advertorial|paid partnership|promoted (?:post|content|message|by)|#ad|#sponsored|ad:|brought to you by|our (?:sponsor|partner)s?|affiliate|in partnership with)(?:$|[^a-z])/;
const SPONSORED_COMPACT = ['sponsored', 'advertisement', 'advertorial', 'paidpartnership', 'affiliatelink'];

const PROMOTION =
  /\b(?:buy now|shop now|order now|act now|act fast|hurry|limited[- ]time|(?:exclusive|special|amazing|incredible|unbeatable|best) (?:offer|deal|discount|price)s?|flash sale|mega sale|don'?t miss (?:out|this)|click (?:here|the link|below)|tap (?:here|the link)|claim your|you(?:'ve| have) won|free (?:gift|bonus|spins?|money)|earn (?:money|cash)|make money|casino|betting|(?:subscribe|sign up|register|join) (?:now|today)|check out (?:this|these|our partner)|while (?:stocks|supplies) last|only \d+ left|(?:upgrade|switch) (?:now|today) and save)\b/;
const DISCOUNT_TALK =
  /\b(?:promo|coupon|discount|voucher|referral) codes?\b|\buse (?:the )?code\b|\b\d{1,2} ?% off\b|\bsave \d+ ?%/;
const VISITOR_ASKED_PRICES =
  /\b(?:discounts?|coupons?|promo|codes?|vouchers?|sales?|deals?|offers?|prices?|pricing|cost|cheaper|student|loyalty)\b/;

const SYSTEM_PREFIX =
  /^[\s\p{So}\p{Sk}*_#>|[({<~=-]*(?:system(?: message| notice| alert)?|admin(?:istrator)?|moderator|notice|service (?:notice|message|alert)|security (?:alert|notice|warning)|official(?: notice| message)?|automated message|announcement|staff)[\s\])}>*_~=]*[:|–—-]/imu;
const SYSTEM_NOTICE =
  /\b(?:(?:system|service) (?:message|notice|alert)|automated message from|has (?:joined|left) the (?:chat|conversation)|joined the chat|left the chat|transferring you to|(?:this|the) (?:chat|conversation) (?:has been|was|is being) (?:transferred|ended|closed|recorded|suspended)|your (?:session|account) (?:has )?(?:expired|been suspended|been locked)|verify your (?:account|identity|payment)|re-?enter your (?:password|card|payment))\b/;
const BRAND = compactLetters('clickdesk');
/** Cheap pre-check for findContacts: an @ (or a spelled-out "at"), or three digits in a row. */
const MAY_HOLD_CONTACT = /@|\bat\b|\d[\s().-]?\d[\s().-]?\d/;

/**
 * The outbound channel policy (Terms 4.8, 5): no advertising in the chat, nothing that looks
 * like ClickDesk's own service messages, and contact details only back into the conversation
 * they came from. Every message to ClickDesk passes `check` (the Web API client enforces it).
 */
export class ChannelPolicy {
  private readonly contacts = new ContactLedger();
  private readonly askedAboutPrices = new LRUCache<string, number>({ max: 50_000 });

  constructor(private readonly opts: ChannelPolicyOptions) {}

  /** Learns from what ClickDesk sent: contact details and whether the visitor asked about prices. */
  observe(inbound: InboundEvent): void {
    const { event } = inbound;
    if (event.type !== 'message' || event.sender.kind !== 'visitor') return;
    const key = `${inbound.teamId}:${event.conversationId}`;
    const folded = foldText(event.text);
    // Most messages carry no contact detail; skip the full scan unless one could be there.
    if (MAY_HOLD_CONTACT.test(folded))
      for (const contact of findContacts(folded, this.opts.phoneCountry)) this.contacts.record(key, contact);
    if (VISITOR_ASKED_PRICES.test(folded)) {
      this.askedAboutPrices.set(key, Date.now());
    }
  }

  /** Contact details ClickDesk gave through other channels (e.g. a visitor profile). */
  observeContact(teamId: string, conversationId: string, contact: string): void {
    for (const c of findContacts(foldText(contact), this.opts.phoneCountry))
      this.contacts.record(`${teamId}:${conversationId}`, c);
  }

  check(teamId: string, conversationId: string, text: string): PolicyVerdict {
    const folded = foldText(text);
    const compact = compactLetters(folded);
    const key = `${teamId}:${conversationId}`;

    if (compact.includes(BRAND) || SYSTEM_PREFIX.test(folded) || SYSTEM_NOTICE.test(folded)) {
      return { allowed: false, rule: 'impersonation' };
    }
    if (SPONSORED.test(folded) || SPONSORED_COMPACT.some((w) => compact.includes(compactLetters(w)))) {
      return { allowed: false, rule: 'sponsored' };
    }
    for (const link of findLinks(folded)) {
      if (!hostAllowed(link.host, this.opts.allowedDomains)) return { allowed: false, rule: 'external_link' };
      if (link.params.some(isTrackingParam)) return { allowed: false, rule: 'tracking_link' };
    }
    if (PROMOTION.test(folded)) return { allowed: false, rule: 'advertising' };
    if (DISCOUNT_TALK.test(folded) && !this.askedAboutPrices.has(key))
      return { allowed: false, rule: 'advertising' };
    for (const contact of MAY_HOLD_CONTACT.test(folded) ? findContacts(folded, this.opts.phoneCountry) : []) {
      if (this.contacts.belongsElsewhere(key, contact)) return { allowed: false, rule: 'contact_leak' };
    }
    return { allowed: true };
  }
}

function isTrackingParam(name: string): boolean {
  return (
    name.startsWith('utm_') ||
    [
      'ref',
      'referrer',
      'aff',
      'aff_id',
      'affid',
      'affiliate',
      'partner',
      'tag',
      'gclid',
      'fbclid',
      'msclkid',
      'mc_eid',
      'clickid',
      'subid',
      'campaign',
      'cid',
      'tracking',
    ].includes(name)
  );
}
