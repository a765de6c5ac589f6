import { CodedError } from '../errors';
import type { AppConfig } from './load-config';

export interface StartModeOptions {
  /**
   * `npm start` passes `--sandbox-if-unconfigured`: with no ClickDesk credentials it runs the
   * bundled simulator, so a fresh checkout works with no setup. Nothing else implies sandbox mode.
   */
  sandboxIfUnconfigured: boolean;
}

/**
 * Refuses to start the bundled simulator unless it was asked for: SANDBOX=1, or `npm start` on a
 * machine that is not production. Never in production, even asked: a production process serves
 * real teams, and a simulator beside it (its controls, its own webhook secret) has no place
 * there; a production deployment that lost its credentials must stop and say so (Terms 8.1).
 */
export function checkStartMode(config: AppConfig, options: StartModeOptions): void {
  if (config.production && config.sandbox.switch === 'on') {
    throw new CodedError(
      'CONFIG_INVALID',
      'NODE_ENV=production and SANDBOX=1 together: the simulator never runs in a production process.\n' +
        '  To try the bot against the simulator, unset NODE_ENV (or set NODE_ENV=development) and keep SANDBOX=1.\n' +
        '  To run in production, unset SANDBOX and set the live ClickDesk credentials (see .env.example).',
    );
  }
  if (config.mode === 'live' || config.sandbox.switch === 'on') return;
  const implicit = options.sandboxIfUnconfigured && !config.production && config.sandbox.switch === 'unset';
  if (implicit) return;

  const missing = [
    ['CLICKDESK_API_URL', config.clickdesk.apiUrl],
    ['CLICKDESK_APP_TOKEN', config.clickdesk.appToken],
    ['CLICKDESK_BOT_TOKEN', config.clickdesk.botToken],
    ['WEBHOOK_SECRETS', config.lifecycle.webhookSecrets.length > 0 ? 'set' : undefined],
  ]
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
  const why =
    config.sandbox.switch === 'off'
      ? 'SANDBOX=0 forbids sandbox mode'
      : config.production
        ? 'sandbox mode never starts by itself with NODE_ENV=production'
        : 'sandbox mode starts by itself only from `npm start`';
  throw new CodedError(
    'CONFIG_INVALID',
    `No ClickDesk credentials, and ${why}.\n` +
      `  For live mode set: ${missing.join(', ')} (and MASTER_KEY or MASTER_KEY_FILE).\n` +
      (config.production
        ? '  The bundled simulator never runs with NODE_ENV=production.\n'
        : '  To run against the bundled simulator instead, set SANDBOX=1.\n') +
      'Fix these variables in the environment or .env (see .env.example).',
  );
}
