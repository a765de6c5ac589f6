import { z } from 'zod';
import { isSupportedCountry } from 'libphonenumber-js';
import path from 'node:path';
import type { AppConfig } from './app-config';
import { cleanEnv, configError, type Env } from './config-error';
import { CONTRACT_LIMITS } from '../rate-limit/bucket-spec';
import { webhookSecretProblem } from './webhook-secret';
import { secretStrengthProblem } from './secret-strength';

export { ConfigError, type Env } from './config-error';
export type { AppConfig } from './app-config';

/**
 * The one place that maps environment variables to typed settings. Every variable here is
 * listed in `.env.example`. Anything wrong stops start-up with a message naming the variable
 * and how to fix it.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A comma-separated list; blanks are ignored. */
/** A token judged by its estimated entropy (secret-strength.ts), not by its length alone. */
const strongSecret =
  (minBits: number) =>
  (value: string, ctx: z.RefinementCtx): void => {
    const problem = secretStrengthProblem(value, minBits);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  };

const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** 4 or 6 for an IP address, 0 for anything else (a host name included). */
const ipFamily = (address: string): 0 | 4 | 6 => {
  if (IPV4.test(address)) return 4;
  if (!/^[0-9a-f:.]+$/i.test(address) || !address.includes(':')) return 0;
  try {
    new URL(`http://[${address}]/`);
    return 6;
  } catch {
    return 0;
  }
};
/** An IP address or CIDR range, e.g. 127.0.0.1 or 10.0.0.0/8. */
const ipOrCidr = z.string().refine((v) => {
  const [address = '', prefix, ...rest] = v.split('/');
  const family = ipFamily(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}, 'must be IP addresses or CIDR ranges of your reverse proxies, comma-separated (e.g. 127.0.0.1,10.0.0.0/8)');

const schema = z
  .object({
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    HTTP_PORT: int(0, 65535).default(3000),
    CLICKDESK_API_URL: z
      .url({ protocol: /^https?$/ })
      .refine((u) => u.endsWith('/'), 'must end with "/" (e.g. https://api.clickdesk.example/api/)')
      .optional(),
    CLICKDESK_APP_TOKEN: z
      .string()
      .regex(/^xapp-\S+$/, 'must start with "xapp-"')
      .optional(),
    CLICKDESK_BOT_TOKEN: z
      .string()
      .regex(/^xoxb-\S+$/, 'must start with "xoxb-"')
      .optional(),
    CLICKDESK_CLIENT_ID: z
      .string()
      .regex(/^\S{1,200}$/, 'must be the client_id from the app settings')
      .optional(),
    CLICKDESK_CLIENT_SECRET: z.string().min(8, 'must be the client_secret from the app settings').optional(),
    PUBLIC_URL: z
      .url({ protocol: /^https?$/ })
      .refine(
        (u) => !/[?#]/.test(u),
        'must be a base URL without query or fragment (e.g. https://bot.example.com)',
      )
      .optional(),
    SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
    SANDBOX_PORT: int(0, 65535).default(4100),
    RTM_CONNECTIONS: int(1, 10).default(2),
    RTM_APP_LINKS: int(1, 100).default(10),
    RTM_PING_INTERVAL_MS: int(100, 600_000).default(5_000),
    RTM_PONG_TIMEOUT_MS: int(100, 600_000).default(5_000),
    RTM_STALL_TIMEOUT_MS: int(1_000, 3_600_000).default(30_000),
    RTM_BACKOFF_BASE_MS: int(1, 600_000).default(500),
    RTM_BACKOFF_MAX_MS: int(1, 3_600_000).default(30_000),
    SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
    POLICY_ALLOWED_DOMAINS: list(
      z
        .string()
        .regex(
          /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/,
          'must be bare domain names like shop.example.com',
        ),
    ),
    POLICY_ON_BLOCK: z.enum(['fallback', 'drop']).default('fallback'),
    POLICY_PHONE_COUNTRY: z
      .string()
      .transform((c) => c.toUpperCase())
      .refine(isSupportedCountry, 'must be a two-letter country code libphonenumber knows, like NL or US')
      .optional(),
    POLICY_FALLBACK_TEXT: z.string().min(1).max(1000).optional(),
    EGRESS_ALLOWED_ORIGINS: list(z.url({ protocol: /^https?$/ })),
    METRICS_TOKEN: z
      .string()
      .min(16, 'must be at least 16 characters')
      .superRefine(strongSecret(96))
      .optional(),
    METRICS_PORT: int(0, 65535).optional(),
    HEALTH_PORT: int(0, 65535).optional(),
    RATE_LIMITS: list(
      z.string().regex(/^[a-z]+(?:\.[a-z]+)+=\d+$/i, 'must be method=calls pairs like chat.postMessage=300'),
    ),
    RATE_WINDOW_MS: int(1_000, 3_600_000).default(60_000),
    RATE_MARGIN_MS: int(0, 60_000).default(250),
    RATE_MAX_QUEUE: int(1, 1_000_000).default(500),
    RATE_REPLY_DEADLINE_MS: int(100, 3_600_000).default(30_000),
    RATE_BACKGROUND_DEADLINE_MS: int(100, 86_400_000).default(300_000),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    RATE_FALLBACK_INSTANCES: int(1, 1_000).default(2),
    STORAGE: z.enum(['sqlite', 'postgres', 'memory']).optional(),
    DATA_DIR: z.string().min(1).default('data'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    MASTER_KEY: z.string().optional(),
    MASTER_KEY_FILE: z.string().min(1).optional(),
    MASTER_KEY_PREVIOUS: list(z.string().min(1)),
    STORAGE_CONNECT_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
    INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ : -')
      .optional(),
    MASTER_KEY_MAX_AGE_DAYS: int(1, 3650).default(90),
    WEBHOOK_SECRETS: list(
      z.string().superRefine((secret, ctx) => {
        const problem = webhookSecretProblem(secret);
        if (problem) ctx.addIssue({ code: 'custom', message: `a secret ${problem}` });
      }),
    ),
    ADMIN_TOKEN: z
      .string()
      .min(24, 'must be at least 24 characters')
      .superRefine(strongSecret(128))
      .optional(),
    OPERATOR_NAME: z.string().min(1).max(200).optional(),
    OPERATOR_CONTACT: z.string().min(3).max(200).optional(),
    RECEIPT_SIGNING_KEY_FILE: z.string().min(1).optional(),
    FRESHNESS_CHECK_INTERVAL_MS: int(1_000, 3_600_000).default(300_000),
    MESSAGE_RETENTION_DAYS: int(1, 3650).default(30),
    SANDBOX: z.enum(['0', '1'], 'must be 1 (run the bundled simulator) or 0').optional(),
    NODE_ENV: z.string().optional(),
    CLICKDESK_APP_ID: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be the app id ClickDesk shows (e.g. A0123ABC)')
      .optional(),
    TRUST_PROXY: list(ipOrCidr),
    HTTP_HEADERS_TIMEOUT_MS: int(1_000, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
    HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(512),
  })
  .superRefine((v, ctx) => {
    const app = v.CLICKDESK_APP_TOKEN !== undefined;
    const client = v.CLICKDESK_CLIENT_ID !== undefined;
    // Live mode serves one team (static bot token) or every team that installs the app (OAuth).
    const bot = v.CLICKDESK_BOT_TOKEN !== undefined || (app && client);
    if (v.SANDBOX === '1' && (app || bot)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SANDBOX'],
        message:
          'SANDBOX=1 runs the bundled simulator; unset CLICKDESK_APP_TOKEN and CLICKDESK_BOT_TOKEN, or unset SANDBOX for live mode',
      });
    }
    if (v.HTTP_HEADERS_TIMEOUT_MS > v.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: 'must be <= HTTP_REQUEST_TIMEOUT_MS',
      });
    }
    if (app !== bot) {
      ctx.addIssue({
        code: 'custom',
        path: [app ? 'CLICKDESK_BOT_TOKEN' : 'CLICKDESK_APP_TOKEN'],
        message:
          'set both CLICKDESK_APP_TOKEN and CLICKDESK_BOT_TOKEN for live mode (one team), or CLICKDESK_APP_TOKEN with CLICKDESK_CLIENT_ID and CLICKDESK_CLIENT_SECRET (teams install the app), or none of them for sandbox mode',
      });
    }
    if (client !== (v.CLICKDESK_CLIENT_SECRET !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [client ? 'CLICKDESK_CLIENT_SECRET' : 'CLICKDESK_CLIENT_ID'],
        message:
          'set both CLICKDESK_CLIENT_ID and CLICKDESK_CLIENT_SECRET (from the app settings on ClickDesk), or neither',
      });
    }
    if (client && app && v.PUBLIC_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['PUBLIC_URL'],
        message:
          'is required with CLICKDESK_CLIENT_ID: the public base URL of this app; {PUBLIC_URL}/oauth/callback must be registered with ClickDesk',
      });
    }
    if (app && bot && v.CLICKDESK_API_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CLICKDESK_API_URL'],
        message: 'is required in live mode (tokens are set): the base URL of the ClickDesk Web API',
      });
    }
    if (app && bot && v.WEBHOOK_SECRETS.length === 0 && v.STORAGE !== 'memory') {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOK_SECRETS'],
        message:
          "is required in live mode: ClickDesk's deletion webhooks (Terms 6.3) are refused without it; copy the signing secret (whsec_…) from the app's settings",
      });
    }
    if (v.STORAGE === 'postgres' && !v.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required with STORAGE=postgres (e.g. postgres://user@host/db)',
      });
    }
    if (v.MASTER_KEY && v.MASTER_KEY_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['MASTER_KEY_FILE'],
        message: 'set MASTER_KEY or MASTER_KEY_FILE, not both',
      });
    }
    if (v.RTM_BACKOFF_MAX_MS < v.RTM_BACKOFF_BASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RTM_BACKOFF_MAX_MS'],
        message: 'must be >= RTM_BACKOFF_BASE_MS',
      });
    }
  });

/** Every environment variable the app reads (a fork's `.env.example` lists each, with the bot's own). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

export function loadConfig(env: Env = process.env): AppConfig {
  const cleaned = cleanEnv(env);
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) throw configError(parsed.error.issues, cleaned);
  const v = parsed.data;
  return deepFreeze({
    mode: v.SANDBOX !== '1' && v.CLICKDESK_APP_TOKEN ? 'live' : 'sandbox',
    logLevel: v.LOG_LEVEL,
    http: { host: v.HTTP_HOST, port: v.HTTP_PORT },
    clickdesk: {
      apiUrl: v.CLICKDESK_API_URL,
      appToken: v.CLICKDESK_APP_TOKEN,
      botToken: v.CLICKDESK_BOT_TOKEN,
      appId: v.CLICKDESK_APP_ID,
    },
    sandbox: {
      host: v.SANDBOX_HOST,
      port: v.SANDBOX_PORT,
      switch: v.SANDBOX === '1' ? 'on' : v.SANDBOX === '0' ? 'off' : 'unset',
    },
    production: v.NODE_ENV === 'production',
    httpServer: {
      trustProxy: v.TRUST_PROXY,
      headersTimeoutMs: v.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: v.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: v.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: v.HTTP_MAX_CONNECTIONS,
    },
    oauth: {
      clientId: v.CLICKDESK_CLIENT_ID,
      clientSecret: v.CLICKDESK_CLIENT_SECRET,
      publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ''),
    },
    rtm: {
      connections: v.RTM_CONNECTIONS,
      appLinks: v.RTM_APP_LINKS,
      pingIntervalMs: v.RTM_PING_INTERVAL_MS,
      pongTimeoutMs: v.RTM_PONG_TIMEOUT_MS,
      stallTimeoutMs: v.RTM_STALL_TIMEOUT_MS,
      backoffBaseMs: v.RTM_BACKOFF_BASE_MS,
      backoffMaxMs: v.RTM_BACKOFF_MAX_MS,
    },
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    policy: {
      allowedDomains: v.POLICY_ALLOWED_DOMAINS.map((d) => d.toLowerCase()),
      onBlock: v.POLICY_ON_BLOCK,
      fallbackText: v.POLICY_FALLBACK_TEXT,
      phoneCountry: v.POLICY_PHONE_COUNTRY,
    },
    egressAllowedOrigins: v.EGRESS_ALLOWED_ORIGINS,
    metricsToken: v.METRICS_TOKEN,
    metricsPort: v.METRICS_PORT,
    healthPort: v.HEALTH_PORT,
    storage: {
      kind: v.STORAGE ?? (v.DATABASE_URL ? 'postgres' : 'sqlite'),
      dataDir: path.resolve(v.DATA_DIR),
      databaseUrl: v.DATABASE_URL,
      masterKey: v.MASTER_KEY,
      masterKeyFile: v.MASTER_KEY_FILE,
      masterKeyPrevious: v.MASTER_KEY_PREVIOUS,
      instanceId: v.INSTANCE_ID,
      masterKeyMaxAgeDays: v.MASTER_KEY_MAX_AGE_DAYS,
      connectTimeoutMs: v.STORAGE_CONNECT_TIMEOUT_MS,
    },
    operator: { name: v.OPERATOR_NAME, contact: v.OPERATOR_CONTACT },
    lifecycle: {
      webhookSecrets: v.WEBHOOK_SECRETS,
      adminToken: v.ADMIN_TOKEN,
      receiptSigningKeyFile: path.resolve(
        v.RECEIPT_SIGNING_KEY_FILE ?? path.join(v.DATA_DIR, 'receipt-signing.key'),
      ),
      freshnessCheckIntervalMs: v.FRESHNESS_CHECK_INTERVAL_MS,
      messageRetentionDays: v.MESSAGE_RETENTION_DAYS,
    },
    rate: {
      limits: {
        ...CONTRACT_LIMITS,
        perMethod: {
          ...CONTRACT_LIMITS.perMethod,
          ...Object.fromEntries(
            v.RATE_LIMITS.map((pair) => [pair.split('=')[0] ?? '', Number(pair.split('=')[1])]),
          ),
        },
        windowMs: v.RATE_WINDOW_MS,
        marginMs: v.RATE_MARGIN_MS,
      },
      maxQueuePerMethod: v.RATE_MAX_QUEUE,
      replyDeadlineMs: v.RATE_REPLY_DEADLINE_MS,
      backgroundDeadlineMs: v.RATE_BACKGROUND_DEADLINE_MS,
      redisUrl: v.REDIS_URL,
      fallbackInstances: v.RATE_FALLBACK_INSTANCES,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
