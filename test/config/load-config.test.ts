import { loadConfig } from '../../src/config/load-config';

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
      WEBHOOK_SECRETS: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw==',
    });
    expect(config.mode).toBe('live');
    expect(config.lifecycle.webhookSecrets).toEqual(['whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw==']);
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
