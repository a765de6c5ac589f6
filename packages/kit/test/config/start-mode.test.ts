import { checkStartMode } from '../../src/config/check-start-mode';
import { loadConfig } from '../../src/config/load-config';
import { spawnMain, type MainProcess } from '../helpers/spawn-main';

const LIVE = {
  CLICKDESK_API_URL: 'https://api.example.test/api/',
  CLICKDESK_APP_TOKEN: 'xapp-1',
  CLICKDESK_BOT_TOKEN: 'xoxb-1',
  WEBHOOK_SECRETS: `whsec_${Buffer.from('0123456789abcdefghijklmnopqrstuv').toString('base64')}`,
};
const starts = (env: Record<string, string>, sandboxIfUnconfigured: boolean) => {
  try {
    checkStartMode(loadConfig(env), { sandboxIfUnconfigured });
    return loadConfig(env).mode;
  } catch (err) {
    return (err as Error).message;
  }
};

describe('when sandbox mode may start', () => {
  it('starts the simulator from `npm start` on a fresh machine with no setup', () => {
    expect(starts({}, true)).toBe('sandbox');
  });

  it('starts it wherever SANDBOX=1 asks, outside production', () => {
    expect(starts({ SANDBOX: '1' }, false)).toBe('sandbox');
    expect(starts({ SANDBOX: '1', NODE_ENV: 'development' }, true)).toBe('sandbox');
  });

  it('refuses NODE_ENV=production with SANDBOX=1, naming both and the fix', () => {
    for (const fromNpmStart of [false, true]) {
      const message = starts({ SANDBOX: '1', NODE_ENV: 'production' }, fromNpmStart);
      expect(message).toMatch(/NODE_ENV=production and SANDBOX=1/);
      expect(message).toMatch(/unset NODE_ENV/);
      expect(message).toMatch(/unset SANDBOX/);
    }
  });

  it('runs live mode whenever the credentials are set', () => {
    expect(starts({ ...LIVE, NODE_ENV: 'production' }, false)).toBe('live');
    expect(starts(LIVE, true)).toBe('live');
  });

  it.each([
    ['without credentials outside `npm start` (start:built)', {}, false, /only from `npm start`/],
    [
      'with NODE_ENV=production, even from `npm start`',
      { NODE_ENV: 'production' },
      true,
      /NODE_ENV=production/,
    ],
    ['with SANDBOX=0', { SANDBOX: '0' }, true, /SANDBOX=0 forbids/],
  ])('refuses %s, saying what is missing', (_what, env, flag, why) => {
    const message = starts(env, flag);
    expect(message).toMatch(why);
    expect(message).toMatch(
      /For live mode set: CLICKDESK_API_URL, CLICKDESK_APP_TOKEN, CLICKDESK_BOT_TOKEN, WEBHOOK_SECRETS/,
    );
    expect(message).toMatch(
      'NODE_ENV' in env ? /simulator never runs with NODE_ENV=production/ : /set SANDBOX=1/,
    );
  });

  it('names only the live settings still missing', () => {
    const message = starts({ CLICKDESK_API_URL: LIVE.CLICKDESK_API_URL, NODE_ENV: 'production' }, true);
    expect(message).toMatch(
      /For live mode set: CLICKDESK_APP_TOKEN, CLICKDESK_BOT_TOKEN, WEBHOOK_SECRETS \(/,
    );
  });

  it('refuses SANDBOX=1 together with ClickDesk tokens', () => {
    expect(() => loadConfig({ ...LIVE, SANDBOX: '1' })).toThrow(
      /SANDBOX: SANDBOX=1 runs the bundled simulator/,
    );
  });
});

describe('start-up without credentials, in a real process', () => {
  let main: MainProcess | undefined;
  afterEach(() => main?.cleanup());

  it('refuses to start the simulator unasked in production or from start:built, naming what is missing', async () => {
    const runs: Array<[Record<string, string>, string[]]> = [
      [{ NODE_ENV: 'production' }, ['--sandbox-if-unconfigured']], // `npm start` in production
      [{}, []], // `npm run start:built`
    ];
    for (const [env, args] of runs) {
      main = spawnMain({ LOG_LEVEL: 'info', ...env }, args);
      expect(await main.exited).toBe(1);
      const out = main.output();
      main.cleanup();
      expect(out).toMatch(/No ClickDesk credentials/);
      expect(out).toMatch(/CLICKDESK_APP_TOKEN/);
      expect(out).toMatch(env.NODE_ENV ? /never runs with NODE_ENV=production/ : /set SANDBOX=1/);
      expect(out).not.toMatch(/sandbox mode:|Chat with your bot|storage open|app started/);
      expect(out).not.toMatch(/\n\s+at |\.ts:\d+/); // a plain message, no stack
    }
  });

  it('refuses to start the simulator with NODE_ENV=production even when SANDBOX=1 asks', async () => {
    main = spawnMain({ LOG_LEVEL: 'info', NODE_ENV: 'production', SANDBOX: '1' }, [
      '--sandbox-if-unconfigured',
    ]);
    expect(await main.exited).toBe(1);
    const out = main.output();
    expect(out).toMatch(/NODE_ENV=production and SANDBOX=1 together/);
    expect(out).not.toMatch(/sandbox mode:|Chat with your bot|app started/);
    expect(out).not.toMatch(/\n\s+at |\.ts:\d+/);
  });
});
