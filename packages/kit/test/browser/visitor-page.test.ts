import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FaqHandler, TEST_FAQ as faq } from '../helpers/faq-handler';
import type { ChatHandler } from '../../src/core/chat-handler';
import { resetTeam } from '@clickdesk-bot/sandbox';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { findTool } from '../helpers/require-tool';

const tool = findTool('chromium', 'install it with: apt-get install chromium');
/** Screenshots of every state, for a person to look at; the folder is printed once. */
const shots = process.env.VISITOR_SCREENSHOTS ?? mkdtempSync(path.join(os.tmpdir(), 'visitor-page-'));

/** The FAQ bot, held back while `hold` is set: the page's waiting states become observable. */
class GatedBot implements ChatHandler {
  private readonly bot = new FaqHandler(faq);
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async handle(...args: Parameters<ChatHandler['handle']>): Promise<void> {
    await this.gate;
    await this.bot.handle(...args);
  }
}

/** WCAG contrast of every visible text element against the background it sits on. */
async function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r = 0, g = 0, b = 0]: number[]): number => {
      const f = (v: number): number => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 4 || (c[3] ?? 0) > 0) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent?.trim());
      const box = el.getBoundingClientRect();
      if (!own || box.width === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.closest('.visually-hidden')) continue;
      const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5)
        bad.push(`${el.tagName}.${el.className} "${el.textContent?.trim()}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
}

/** A person at the visitor page, in a real headless Chromium. */
tool.describeIf('visitor chat page in a browser', () => {
  let browser: Browser;
  let pair: SandboxPair;
  let bot: GatedBot;

  beforeAll(async () => {
    process.stdout.write(`visitor page screenshots: ${shots}\n`);
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
    bot = new GatedBot();
    pair = await startSandboxPair({ handler: bot, simulator: { agentJoinDelayMs: 200 } });
  });
  afterEach(() => pair.stop());

  const shoot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  /** The pre-chat form: the visitor gives a name, which ClickDesk passes to the bot. */
  const startChat = async (page: Page, url: string, name = 'Ada Lovelace') => {
    await page.goto(url);
    await page.getByRole('textbox', { name: 'Your name' }).fill(name);
    await page.getByRole('button', { name: 'Start chat' }).click();
  };
  const typeAndSend = async (page: Page, text: string) => {
    await page.getByRole('textbox', { name: 'Your message' }).fill(text);
    await page.keyboard.press('Enter');
  };

  it('shows the FAQ answer to a typed question, and "talk to a human" brings an agent', async () => {
    const page = await browser.newPage();
    await startChat(page, `${pair.sim.url}/visitor/`);
    const botSays = page.locator('li[data-sender="bot"]');
    await botSays.first().waitFor();
    await page.getByRole('textbox', { name: 'Your message' }).fill('How long does shipping take?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();

    await typeAndSend(page, 'talk to a human');
    await page.locator('li[data-sender="agent"]').first().waitFor();
    expect(await page.locator('li[data-sender="system"]').allTextContents()).toEqual(
      expect.arrayContaining(['Transferring you to a member of the team…', 'Alex Agent joined the chat']),
    );
    // People have the chat now: the page waits for no bot answer.
    await typeAndSend(page, 'thanks, Alex');
    await page.locator('li[data-sender="visitor"]', { hasText: 'thanks, Alex' }).waitFor();
    expect(await page.locator('#typing').isVisible()).toBe(false);
    expect(await botSays.allTextContents()).toEqual([
      expect.stringContaining(faq.greeting),
      expect.stringContaining('Orders ship within 2 working days'),
      expect.stringContaining(faq.handover.reply),
    ]);
    expect(pair.sim.counters.apiCalls['conversations.transfer']).toBe(1);
    expect([...pair.sim.world.visitors.values()].map((v) => v.name)).toEqual(['Ada Lovelace']);

    // Bot and agent bubbles are told apart by label, colour and border, not by position alone.
    expect(await botSays.first().locator('.who').textContent()).toBe('Bot');
    expect(await page.locator('li[data-sender="agent"] .who').first().textContent()).toBe(
      'Alex Agent · agent',
    );
    const look = (sel: string) =>
      page
        .locator(sel)
        .first()
        .evaluate((el) => {
          const s = getComputedStyle(el);
          return `${s.backgroundColor} ${s.borderLeftColor}`;
        });
    expect(await look('li[data-sender="bot"]')).not.toBe(await look('li[data-sender="agent"]'));
    expect(await lowContrast(page)).toEqual([]);
    await shoot(page, '1-bot-and-agent');
  });

  it('shows that the bot is working while an answer is on its way, and a notice when none comes', async () => {
    const page = await browser.newPage();
    await startChat(page, `${pair.sim.url}/visitor/?no_answer_s=2`);
    await page.locator('li[data-sender="bot"]').first().waitFor();
    const typing = page.locator('#typing');
    expect(await typing.isVisible()).toBe(false);

    bot.hold();
    await typeAndSend(page, 'How long does shipping take?');
    await page.locator('li[data-sender="visitor"]').waitFor();
    await typing.waitFor({ state: 'visible' });
    expect(await typing.textContent()).toContain('The bot is typing…');
    expect(await page.getByRole('status').textContent()).toBe('Sent.');
    await shoot(page, '2-typing');

    const notice = page.getByRole('alert');
    await notice.waitFor({ state: 'visible' });
    expect(await notice.textContent()).toContain('No answer after 2 seconds');
    expect(await typing.isVisible()).toBe(false);
    expect(await lowContrast(page)).toEqual([]);
    await shoot(page, '3-no-answer');

    bot.release();
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();
    await notice.waitFor({ state: 'hidden' });
    expect(await page.getByRole('status').textContent()).toBe('');
  });

  it('keeps the chat across a reload and opens the legal pages in a new tab', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await startChat(page, `${pair.sim.url}/visitor/`);
    await page.locator('li[data-sender="bot"]').first().waitFor();
    await typeAndSend(page, 'How long does shipping take?');
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();
    const before = await page.locator('#log li').allTextContents();

    await page.reload();
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();
    expect(await page.locator('#log li').allTextContents()).toEqual(before);
    expect(pair.sim.world.conversations.size).toBe(1);
    await shoot(page, '4-after-reload');

    for (const name of ['Privacy policy', 'User agreement']) {
      const link = page.getByRole('link', { name: new RegExp(name) });
      expect(await link.getAttribute('target')).toBe('_blank');
      expect(await link.getAttribute('rel')).toContain('noopener');
    }
    const [tab] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('link', { name: /Privacy policy/ }).click(),
    ]);
    await tab.waitForLoadState();
    expect(tab.url()).toMatch(/\/privacy$/);
    expect(await page.locator('#log li').allTextContents()).toEqual(before);
    await context.close();
  });

  it('says the app was uninstalled and how to reinstall it, then starts afresh after a reset', async () => {
    const page = await browser.newPage();
    await startChat(page, `${pair.sim.url}/visitor/`);
    await page.locator('li[data-sender="bot"]').first().waitFor();

    pair.sim.installs.markUninstalled(pair.sim.team.id);
    const notice = page.getByRole('alert');
    await notice.waitFor({ state: 'visible' });
    const text = await notice.textContent();
    expect(text).toContain('uninstalled from Sandbox Team');
    expect(text).toContain(`curl -s -XPOST ${pair.sim.url}/sandbox/reset`);
    expect(text).toContain('npm start -- --reset');
    // Polled every 3 s, the alert is not rebuilt (and so not announced again) while nothing changes.
    const mutations = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let n = 0;
          const watcher = new MutationObserver((records) => (n += records.length));
          watcher.observe(document.getElementById('notice') as Node, { childList: true, subtree: true });
          setTimeout(() => {
            watcher.disconnect();
            resolve(n);
          }, 3_500);
        }),
    );
    expect(mutations).toBe(0);
    expect(await lowContrast(page)).toEqual([]);
    await shoot(page, '5-uninstalled');

    await resetTeam(pair.sim);
    await page.getByRole('status').filter({ hasText: 'The sandbox was reset' }).waitFor();
    await notice.waitFor({ state: 'hidden' });
    await page.locator('li[data-sender="bot"]').first().waitFor();
    expect(await page.locator('#log li').count()).toBe(1);
    await shoot(page, '6-after-reset');
  });

  it('fits a 375 px wide phone screen and has a favicon', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 667 } });
    await startChat(page, `${pair.sim.url}/visitor/`);
    await page.locator('li[data-sender="bot"]').first().waitFor();
    await typeAndSend(page, 'talk to a human');
    await page.locator('li[data-sender="agent"]').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await lowContrast(page)).toEqual([]);
    await shoot(page, '7-phone');

    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    const res = await fetch(new URL(icon ?? '', `${pair.sim.url}/visitor/`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
  });
});
