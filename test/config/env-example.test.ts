import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, loadBotSettings, loadConfig, z } from '@clickdesk-bot/kit';
import bot from '../../src/bot';
import { readsEnvironment, sourceFiles } from '../terms/source-scan';

const root = path.join(__dirname, '../..');
const example = readFileSync(path.join(root, '.env.example'), 'utf8');
const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
const botVariables = Object.keys(bot.settings?.shape ?? {});

describe('.env.example', () => {
  it('lists every variable the app and the bot read, each with a comment above it', () => {
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(10);
    expect(documented.sort()).toEqual([...CONFIG_VARIABLES, ...botVariables].sort());
    for (const name of documented) {
      const line = example.split('\n').findIndex((l) => l.startsWith(`${name}=`));
      expect(example.split('\n')[line - 1]).toMatch(/^# \S/);
    }
  });

  it('is a valid configuration as it stands, for the app and the bot', () => {
    const env = Object.fromEntries([...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(loadConfig(env).mode).toBe('sandbox');
    expect(() => loadBotSettings(bot, env)).not.toThrow();
  });
});

describe("the bot's settings", () => {
  it('come through its settings schema: nothing in src/ reads process.env', () => {
    const offenders = sourceFiles(path.join(root, 'src'))
      .filter(readsEnvironment)
      .map(
        (f) =>
          `${path.relative(root, f)} reads process.env: declare the setting in defineBot({ settings }) and list it in .env.example`,
      );
    expect(offenders).toEqual([]);
  });

  it("stop start-up with the variable named and the value shown, like the app's own", () => {
    expect(() => loadBotSettings(bot, { BOT_FAQ_FILE: '' })).not.toThrow(); // empty counts as unset
    const strict = { ...bot, settings: bot.settings!.extend({ ORDERS_URL: z.url() }) };
    expect(() => loadBotSettings(strict, { ORDERS_URL: 'not a url' })).toThrow(
      /Invalid configuration:\n {2}ORDERS_URL: .*\(got "not a url"\)\nFix these variables/,
    );
  });
});
