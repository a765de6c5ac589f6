import { chromium, type Browser } from 'playwright-core';
import type { Simulator } from '@clickdesk-bot/sandbox';
import { startInstallingApp, startOAuthSimulator, type InstalledApp } from '../helpers/oauth-pair';
import { findTool } from '../helpers/require-tool';

const tool = findTool('chromium', 'install it with: apt-get install chromium');

/** An admin installs the app in a real headless Chromium, then a visitor of that team chats. */
tool.describeIf('install flow in a browser', () => {
  let browser: Browser;
  let sim: Simulator;
  let app: InstalledApp;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: tool.path,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    sim = await startOAuthSimulator({ agentJoinDelayMs: -1 });
    app = await startInstallingApp(sim);
  });
  afterEach(async () => {
    await app.stop();
    await sim.close();
  });

  it("visits /install, allows on the consent page, lands on the success page, and the bot answers in that team's visitor page", async () => {
    const second = sim.addTeam('Second Shop');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/install`);
    await page.getByRole('link', { name: 'Add to ClickDesk' }).click();
    await page.getByRole('heading', { name: /^Install / }).waitFor();
    await page.getByLabel('Install into').selectOption(second.id);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Installed' }).waitFor();
    expect(page.url()).toMatch(new RegExp(`^${app.url}/oauth/callback\\?code=`));
    expect(await page.textContent('main')).toContain('installed in Second Shop');

    // The same browser going back through the callback (history, reload) changes nothing.
    await page.reload();
    await page.getByRole('heading', { name: 'Install link not valid' }).waitFor();

    await page.goto(`${sim.url}/visitor/?team=${second.id}`);
    await page.getByRole('textbox', { name: 'Your name' }).fill('Grace');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.locator('li[data-sender="bot"]').first().waitFor();
    await page.getByRole('textbox', { name: 'Your message' }).fill('How long does shipping take?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('li[data-sender="bot"]', { hasText: 'Orders ship within 2 working days' }).waitFor();
    const conversations = [...sim.world.conversations.values()];
    expect(conversations.map((c) => c.teamId)).toEqual([second.id]);
    await context.close();
  });

  it('Cancel on the consent page lands on a clear page and installs nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/install`);
    await page.getByRole('link', { name: 'Add to ClickDesk' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Install cancelled' }).waitFor();
    expect(sim.oauth.isInstalled(sim.team.id)).toBe(false);
    await page.close();
  });
});
