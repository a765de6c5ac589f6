import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load-config';

const LIVE_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('loadConfig', () => {
  it('defaults to sandbox mode with no credentials', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('sandbox');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(config.rtm.connections).toBe(2);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rtm)).toBe(true);
  });

  it('selects live mode when both tokens, the API URL and the webhook secret are set', () => {
    const config = loadConfig({
      CLICKDESK_APP_TOKEN: 'xapp-1',
      CLICKDESK_BOT_TOKEN: 'xoxb-1',
      CLICKDESK_API_URL: 'https://api.example.test/api/',
      WEBHOOK_SECRETS: LIVE_SECRET,
    });
    expect(config.mode).toBe('live');
    expect(config.lifecycle.webhookSecrets).toEqual([LIVE_SECRET]);
  });

  it('refuses live mode without the deletion-webhook secret, saying where to find it', () => {
    expect(() =>
      loadConfig({
        CLICKDESK_APP_TOKEN: 'xapp-1',
        CLICKDESK_BOT_TOKEN: 'xoxb-1',
        CLICKDESK_API_URL: 'https://api.example.test/api/',
      }),
    ).toThrow(/WEBHOOK_SECRETS: is required in live mode/);
  });

  it.each([
    [{ HTTP_PORT: 'eighty' }, /HTTP_PORT/],
    [{ HTTP_PORT: '70000' }, /HTTP_PORT/],
    [{ RTM_CONNECTIONS: '11' }, /RTM_CONNECTIONS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ CLICKDESK_APP_TOKEN: 'xapp-1' }, /CLICKDESK_BOT_TOKEN: set both/],
    [
      { CLICKDESK_APP_TOKEN: 'xapp-1', CLICKDESK_BOT_TOKEN: 'xoxb-1' },
      /CLICKDESK_API_URL: is required in live mode/,
    ],
    [
      {
        CLICKDESK_APP_TOKEN: 'wrong',
        CLICKDESK_BOT_TOKEN: 'xoxb-1',
        CLICKDESK_API_URL: 'https://a.test/api/',
      },
      /must start with "xapp-"/,
    ],
    [{ CLICKDESK_API_URL: 'https://a.test/api' }, /must end with "\/"/],
    [{ RTM_BACKOFF_BASE_MS: '5000', RTM_BACKOFF_MAX_MS: '100' }, /RTM_BACKOFF_MAX_MS/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    expect(() => loadConfig(env)).toThrow(/see \.env\.example/);
  });

  it('never echoes a token value in the error', () => {
    try {
      loadConfig({
        CLICKDESK_APP_TOKEN: 'secret-value',
        CLICKDESK_BOT_TOKEN: 'xoxb-1',
        CLICKDESK_API_URL: 'https://a.test/api/',
      });
      throw new Error('expected a failure');
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-value');
      expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    }
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ HTTP_PORT: '', CLICKDESK_APP_TOKEN: '' }).mode).toBe('sandbox');
  });
});

describe('WEBHOOK_SECRETS', () => {
  const secret = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
  const GOOD = secret(Buffer.from('0123456789abcdefghijklmnopqrstuv'));

  it('takes secrets of 24 random bytes or more, two during a rotation', () => {
    const other = secret(randomBytes(24));
    expect(loadConfig({ WEBHOOK_SECRETS: `${GOOD},${other}` }).lifecycle.webhookSecrets).toEqual([
      GOOD,
      other,
    ]);
  });

  it('refuses weak or malformed webhook secrets, naming WEBHOOK_SECRETS and never echoing them', () => {
    const cases: Array<[string, RegExp]> = [
      [secret(Buffer.alloc(32)), /repeats a single byte/],
      [secret(Buffer.alloc(32, 7)), /repeats a single byte/],
      [secret(Buffer.from('0123456789abcdef')), /holds 16 bytes; use at least 24/],
      [secret(Buffer.from('ab'.repeat(16))), /too easy to guess .*openssl rand -base64 32/],
      [secret(Buffer.from('password'.repeat(4))), /too easy to guess/],
      ['whsec_not*base64!here', /is not valid base64 after "whsec_"/],
      [GOOD.slice(0, -1), /is not valid base64/],
      [Buffer.from('0123456789abcdefghijklmnopqrstuv').toString('base64'), /must start with "whsec_"/],
    ];
    for (const [bad, why] of cases) {
      let message = '';
      try {
        loadConfig({ WEBHOOK_SECRETS: `${GOOD},${bad}` });
      } catch (err) {
        message = (err as Error).message;
        expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
      }
      expect(message).toMatch(/^ {2}WEBHOOK_SECRETS: a secret /m);
      expect(message).toMatch(why);
      expect(message).not.toContain(bad.replace(/^whsec_/, '').slice(0, 12));
    }
  });
});

describe('ADMIN_TOKEN and METRICS_TOKEN strength', () => {
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };

  it.each([
    ['ADMIN_TOKEN', 'a'.repeat(32)],
    ['ADMIN_TOKEN', ' '.repeat(24)],
    ['ADMIN_TOKEN', 'passwordpassword' + 'password1234'],
    ['ADMIN_TOKEN', 'xy'.repeat(20)],
    ['ADMIN_TOKEN', 'abcé'.repeat(10)],
    ['METRICS_TOKEN', 'a'.repeat(16)],
    ['METRICS_TOKEN', 'metricsmetrics1234'],
  ])('refuses %s %j, saying how to generate one', (name, value) => {
    const message = problem({ [name]: value }) ?? '';
    expect(message).toMatch(new RegExp(`${name}: `));
    expect(message).toMatch(/openssl rand -hex 32/);
    if (value.trim()) expect(message).not.toContain(value);
  });

  it('takes generated tokens (openssl rand -hex 32, 24 random base64url characters)', () => {
    const config = loadConfig({
      ADMIN_TOKEN: randomBytes(32).toString('hex'),
      METRICS_TOKEN: randomBytes(18).toString('base64url'),
    });
    expect(config.lifecycle.adminToken).toMatch(/^[0-9a-f]{64}$/);
    expect(config.metricsToken).toHaveLength(24);
  });
});

describe('HTTP hardening settings', () => {
  it('has explicit server limits and trusts no proxy by default', () => {
    expect(loadConfig({}).httpServer).toEqual({
      trustProxy: [],
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 512,
    });
  });

  it('takes explicit proxy addresses and CIDR ranges in TRUST_PROXY', () => {
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, ::1,10.0.0.0/8' }).httpServer.trustProxy).toEqual([
      '127.0.0.1',
      '::1',
      '10.0.0.0/8',
    ]);
  });

  it.each(['loopback', 'proxy.example.com', '10.0.0.0/33', '*'])(
    'refuses TRUST_PROXY=%s: only explicit addresses',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
        /TRUST_PROXY: must be IP addresses or CIDR ranges/,
      );
    },
  );

  it('refuses a header timeout longer than the request timeout', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: must be <= HTTP_REQUEST_TIMEOUT_MS/,
    );
  });

  it('takes the app id from CLICKDESK_APP_ID', () => {
    expect(loadConfig({ CLICKDESK_APP_ID: 'A0123ABC' }).clickdesk.appId).toBe('A0123ABC');
    expect(() => loadConfig({ CLICKDESK_APP_ID: 'A 1' })).toThrow(/CLICKDESK_APP_ID/);
  });
});
