import { chromium, type Browser } from 'playwright-core';
import path from 'node:path';
import { DefaultBot } from '../../src/bot/default-bot';
import { loadFaq } from '../../src/bot/faq';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { findTool } from '../helpers/require-tool';

const tool = findTool('chromium', 'install it with: apt-get install chromium');
const faq = loadFaq(path.join(__dirname, '../../src/bot/faq.json'));

/** A person at the visitor page, in a real headless Chromium. */
tool.describeIf('visitor chat page in a browser', () => {
  let browser: Browser;
  let pair: SandboxPair;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: tool.path,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    pair = await startSandboxPair({ handler: new DefaultBot(faq), simulator: { agentJoinDelayMs: 200 } });
  });
  afterEach(() => pair.stop());

  it('shows the FAQ answer to a typed question, and "talk to a human" brings an agent', async () => {
    const page = await browser.newPage();
    await page.goto(`${pair.sim.url}/visitor/`);
    const bot = page.locator('li[data-sender="bot"]');
    await bot.first().waitFor();
    await page.getByRole('textbox', { name: 'Your message' }).fill('How long does shipping take?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();

    await page.getByRole('textbox', { name: 'Your message' }).fill('talk to a human');
    await page.keyboard.press('Enter');
    await page.locator('li[data-sender="agent"]').first().waitFor();
    expect(await page.locator('li[data-sender="system"]').allTextContents()).toEqual(
      expect.arrayContaining(['Transferring you to a member of the team…', 'Alex Agent joined the chat']),
    );
    expect(await bot.allTextContents()).toEqual([
      expect.stringContaining(faq.greeting),
      expect.stringContaining('Orders ship within 2 working days'),
      expect.stringContaining(faq.handover.reply),
    ]);
    expect(pair.sim.counters.apiCalls['conversations.transfer']).toBe(1);
    await page.screenshot({ path: path.join(__dirname, '../../test-results/visitor-page.png') });
  });
});
