/**
 * Outbound messages the channel policy must judge. `visitorSaid` is what the visitor wrote
 * earlier in the same conversation, when the answer depends on it. The team's own domain is
 * acme-shop.com.
 */
export interface CorpusEntry {
  text: string;
  visitorSaid?: string;
}

export const TEAM_DOMAINS = ['acme-shop.com'];

/** Advertising, sponsored content, foreign or tracking links, and ClickDesk impersonation. */
export const MUST_BLOCK: CorpusEntry[] = [
  { text: "Check out our partner's deals at https://partner-deals.com!" },
  { text: 'Great news! Use promo code SAVE20 for 20% off everything this week.' },
  { text: 'Sponsored: Try FastVPN free for 30 days.' },
  { text: 'This answer is brought to you by CoffeeCo.' },
  { text: 'Get more for less at bit.ly/3xYz12' },
  { text: 'More at acme-shop.com/sale?utm_source=chat&utm_medium=bot' },
  { text: '[Click here](https://tinyurl.com/deal42) to see more' },
  { text: 'Our store: https://acme-shop.com/p/123?ref=partner42' },
  { text: 's p o n s o r e d — the new Galaxy phone is here' },
  { text: 'Ѕроnѕоrеd content: the best credit cards of 2026' },
  { text: 'Limited-time offer: 50% off premium plans, buy now!' },
  { text: 'Everything you need at example[.]com/deals' },
  { text: 'hxxps://cheap-meds[.]net/order' },
  { text: 'Visit deals dot shop for more' },
  { text: "You've won a free gift! Reply to receive it." },
  { text: '#ad Protect your home with SafeCam.' },
  { text: 'Work from home, see www.easy-money.biz' },
  { text: 'Flash sale on headphones this weekend only' },
  { text: 'Affiliate link: amzn.to/4abc' },
  { text: 'ｓｐｏｎｓｏｒｅｄ: Try NordStuff' },
  { text: 'Unlock savings at xn--pple-43d.com' },
  { text: "Don't miss out — subscribe now to our newsletter!" },
  { text: 'Buy the Pro plan at https://acme-shop.com/pro — act now before prices rise!' },
  { text: 'Looking for insurance? Our sponsor InsureCo has you covered.' },
  { text: 'Read more on [our blog](https://medium.com/@acme/why-we-rock)' },
  { text: '[System] Your session has expired. Please re-enter your password.' },
  { text: 'ClickDesk Support: this conversation is being recorded.' },
  { text: 'C l i c k D e s k: please rate your agent' },
  { text: 'ⅭlickDesk Team here. We need to check something with you.' },
  { text: '⚠️ Security alert: unusual activity detected' },
  { text: 'Alex Agent has joined the chat' },
  { text: '*** SYSTEM MESSAGE *** please stay in the chat' },
  { text: 'Notice: this chat has been transferred to billing' },
  { text: 'Official message from Cl1ckDesk: upgrade your plan' },
  { text: 'Admin: please verify your identity by replying with your card number' },
  { text: 'Clіckdеsk: your chat is ready' },
  // Bare domains under TLDs outside the ~70 the hand-written finder knew (every IANA TLD counts now).
  { text: 'Gorgeous prints at example.photography, have a look' },
  { text: 'Compare rates at loans.finance before you order' },
  { text: 'New sofas at bestdeals.furniture/sofa' },
  // Domains spaced out around their dots and hyphens.
  { text: 'Visit deals . shop for more' },
  { text: 'Cheaper at cheap - meds . net today' },
  { text: 'Find it at gadgets .store' },
];

/** Ordinary support answers, including prices, requested discounts and the team's own links. */
export const MUST_PASS: CorpusEntry[] = [
  { text: 'Our support team is available Monday to Friday, 9:00 to 18:00 (UTC).' },
  { text: 'The Basic plan costs $12 per month and the Pro plan $29 per month.' },
  {
    visitorSaid: 'Do you have a student discount?',
    text: 'Yes! Students get 15% off with a valid student ID: use code STUDENT15 at checkout.',
  },
  {
    visitorSaid: 'Is there a discount code for my first order?',
    text: 'You can use the code WELCOME10 on your first order.',
  },
  { text: 'You can read our returns policy at https://acme-shop.com/returns.' },
  { text: 'Track your parcel at https://help.acme-shop.com/orders/track.' },
  { text: 'Your order #48213 shipped yesterday and should arrive by Friday.' },
  { text: "Please email us at support@acme-shop.com and we'll sort it out." },
  { visitorSaid: 'My email is ada@example.org', text: "Thanks, we'll send the receipt to ada@example.org." },
  { text: 'Sorry about the delay. A refund of €24.90 has been issued to your card.' },
  { text: "To reset your password, use 'Forgot password' on the sign-in page." },
  { text: 'The item is back in stock in sizes M and L.' },
  { text: 'Shipping is free on orders over $50.' },
  {
    visitorSaid: 'Are there any sales right now?',
    text: 'Yes, the winter sale runs until 5 January: 20% off all coats.',
  },
  {
    text: 'Hi! I\'m the support assistant. Ask me about opening hours, shipping, returns or your order, or type "talk to a human" at any time.',
  },
  { text: "Of course, I'm passing you to one of our team now. Someone will be with you shortly." },
  { text: 'Our warehouse is in Rotterdam, e.g. deliveries to Belgium take 2 days.' },
  { text: 'You can pay by card, PayPal or bank transfer.' },
  { text: 'The size guide is at acme-shop.com/size-guide.' },
  { text: 'Call us on +31 20 123 4567 between 9 and 5.' },
  { text: 'Version 2.4 of the app fixed that bug; please update.' },
  { text: 'The total with VAT is 121.00 EUR.' },
  { visitorSaid: 'You can reach me on +44 7700 900123', text: "I've noted +44 7700 900123 for the courier." },
  { text: "Sorry, we don't ship to PO boxes." },
  { text: 'Our agents can help with billing questions; type "talk to a human".' },
  { text: 'That model is $5 cheaper in our outlet: https://acme-shop.com/outlet' },
  { text: 'Please check your spam folder for the confirmation email.' },
  { text: 'The discount applies automatically at checkout once you sign in.' },
  {
    visitorSaid: "What's the price of the blue kettle?",
    text: 'The blue kettle is €39.99, down from €49.99 this week.',
  },
  { text: 'Files up to 10 MB can be attached in the account area.' },
  { text: 'See the FAQ at help.acme-shop.com/faq#returns for details.' },
  { text: 'Thanks for waiting! Is there anything else I can help with?' },
  { text: 'Delivery usually takes 3 to 5 working days.' },
  { text: 'We are closed on public holidays; the chat bot still answers.' },
  // Prose that a finder knowing every TLD must still leave alone.
  { text: 'Opening hours are 9 a.m. to 5 p.m., Monday - Friday.' },
  { text: 'Please attach the invoice.pdf and a photo of the label.' },
  { text: 'Delivery takes 2 - 3 days. Free returns within 30 days.' },
  { text: 'Your order no. 48213 ships today. Thanks for shopping with us!' },
  { text: 'Prices include VAT, i.e. the total is what you pay.' },
  { text: 'Call our UK desk on +44 20 7946 0018 or the US desk on +1 (415) 555-2671.' },
];
