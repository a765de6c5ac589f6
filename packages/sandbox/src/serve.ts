/**
 * The simulator as a process of its own, standing in for ClickDesk for apps in live mode
 * (compose's `sandbox` profile, the image's `simulator` target). Apps use CLICKDESK_API_URL =
 * SIMULATOR_PUBLIC_URL + "/api/", CLICKDESK_APP_TOKEN=xapp-sandbox-app-token and
 * CLICKDESK_BOT_TOKEN=xoxb-sandbox-bot-token; visitors chat at SIMULATOR_PUBLIC_URL/visitor/.
 * Never a production service: it holds every conversation in memory and signs with its own keys.
 */
import { Simulator } from './simulator';

const env = process.env;
const port = Number(env.SIMULATOR_PORT ?? 4100);
const host = env.SIMULATOR_HOST ?? '0.0.0.0';
const sim = new Simulator({
  appUrl: env.SIMULATOR_APP_URL ?? '',
  webhook: {
    url: env.SIMULATOR_WEBHOOK_URL,
    secrets: env.SIMULATOR_WEBHOOK_SECRET ? [env.SIMULATOR_WEBHOOK_SECRET] : [],
    retries: 5,
    timeoutMs: 5_000,
    retryBaseMs: 1_000,
  },
});
sim.listen(port, host, env.SIMULATOR_PUBLIC_URL).then(
  (url) => process.stdout.write(`ClickDesk simulator on ${url} (visitor page: ${url}/visitor/)\n`),
  (err: unknown) => {
    process.stderr.write(`The simulator could not listen on ${host}:${port}: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void sim.close().then(() => process.exit(0)));
