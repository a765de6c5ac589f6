import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadFaq, matchIntent, mentions } from '../../src/faq/faq';

const faq = loadFaq(path.join(__dirname, '../fixtures/faq.json'));

describe('FAQ matching', () => {
  it.each([
    ['When are you open?', 'opening-hours'],
    ['How long does delivery take', 'shipping'],
    ['I want a REFUND', 'returns'],
    ['where is my order', 'order-status'],
    ['I forgot my password', 'password'],
  ])('matches "%s" to %s', (text, intent) => {
    expect(matchIntent(faq, text)?.id).toBe(intent);
  });

  it('matches whole words only', () => {
    expect(mentions('I am an agentive person', ['agent'])).toBe(false);
    expect(mentions('get me an Agent!', ['agent'])).toBe(true);
  });

  it('returns nothing when no keyword occurs', () => {
    expect(matchIntent(faq, 'bonjour')).toBeUndefined();
  });
});

describe('loadFaq', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faq-'));

  it('names the field at fault in an invalid file', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ greeting: 'hi', fallback: 'x', handover: { keywords: [], reply: 'r' }, intents: [] }),
    );
    expect(() => loadFaq(file)).toThrow(/handover\.keywords/);
  });

  it('says which file cannot be read', () => {
    expect(() => loadFaq(path.join(dir, 'missing.json'))).toThrow(
      /Cannot read FAQ file .*missing\.json.*BOT_FAQ_FILE/,
    );
  });

  it('rejects a file that is not JSON', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ greeting: ');
    expect(() => loadFaq(file)).toThrow(expect.objectContaining({ code: 'FAQ_INVALID' }));
  });
});
