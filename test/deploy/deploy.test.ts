import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Simulator } from '@clickdesk-bot/sandbox';
import pg from 'pg';
import { ChatTraffic } from './chat-traffic';
import { AppContainer, freePort, newMasterKey, signingKeyFile } from './containers';
import { composeDryRun, promtoolCheck } from './compose-check';
import { playableManifests, secretKeys } from './kube-manifests';
import { podman, podmanMissing, podmanTry, REPO_ROOT, run } from './podman';

/**
 * The production image built from the real Dockerfile and run as an operator would: two app
 * containers on PostgreSQL and Redis, the simulator standing in for ClickDesk, one container
 * restarted gracefully and one SIGKILLed while visitors chat. Figures go to test-results/deploy.json.
 */
export const IMAGE = 'localhost/clickdesk-bot:deploy-test';
const SIMULATOR_IMAGE = 'localhost/clickdesk-bot-simulator:deploy-test';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
const SOAK_MS = Number(process.env.DEPLOY_SOAK_MS ?? 60_000);
const figures: Record<string, unknown> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const missing = podmanMissing();
if (missing && !process.env.CI) console.warn(`deploy test skipped: ${missing}`);
const describeDeploy = missing && !process.env.CI ? describe.skip : describe;

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describeDeploy('the production image', () => {
  afterAll(() => {
    mkdirSync(path.join(REPO_ROOT, 'test-results'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'test-results/deploy.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`deploy figures: ${JSON.stringify(figures)}`);
  });

  it('builds from the Dockerfile: non-root, no toolchain, production settings, a health check', async () => {
    if (missing) throw new Error(`CI must run the deploy test, but ${missing}`);
    let started = Date.now();
    const base = await run(path.join(__dirname, 'base-image.sh'), []);
    if (base.code !== 0) throw new Error(`base image:\n${base.stderr}${base.stdout}`);
    figures.baseImageSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    await podman(['build', '--format', 'docker', '--network', 'host', '--tag', IMAGE, '.']);
    figures.appBuildSeconds = (Date.now() - started) / 1000;
    figures.imageMB = Math.round(
      Number(await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE])) / 1e6,
    );

    const config = JSON.parse(await podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
      User: string;
      Env: string[];
      Cmd: string[];
    };
    const healthcheck = JSON.parse(
      await podman(['image', 'inspect', '--format', '{{json .HealthCheck}}', IMAGE]),
    ) as { Test: string[] } | null;
    expect(config.User).toBe('node');
    expect(config.Env).toEqual(
      expect.arrayContaining([
        'NODE_ENV=production',
        'HTTP_HOST=0.0.0.0',
        'MALLOC_ARENA_MAX=2',
        'NODE_OPTIONS=--max-semi-space-size=2 --max-old-space-size=256',
      ]),
    );
    expect(config.Cmd).toEqual(['node', 'dist/src/main.js']);
    expect(healthcheck?.Test.join(' ')).toMatch(/^CMD node -e .*HEALTH_PORT.*\/readyz/);
    const inside = await podman([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'id -u; for t in g++ make python3 tsc; do command -v $t || true; done; ls node_modules/.bin',
    ]);
    const [uid, ...rest] = inside.split('\n');
    expect(uid).toBe('1000');
    expect(rest.join(' ')).not.toMatch(/g\+\+|make|python3|tsc|jest|eslint/);
  });

  describe('compose.yaml', () => {
    afterAll(async () => {
      for (const name of ['cdbs-deploy-simulator', 'cdbs-deploy-single'])
        await podmanTry(['rm', '--force', '--time', '0', name]);
    });

    it('gives both instances production settings, one signing key, PostgreSQL and Redis; Prometheus the rules; Grafana the dashboards', async () => {
      const runs = await composeDryRun({
        POSTGRES_PASSWORD: 'pw-test',
        MASTER_KEY: 'mk-test',
        HTTP_HOST: '127.0.0.1',
      });
      expect(Object.keys(runs).sort()).toEqual([
        'app-a',
        'app-b',
        'grafana',
        'postgres',
        'prometheus',
        'redis',
        'simulator',
      ]);
      for (const service of ['app-a', 'app-b']) {
        const line = runs[service]!;
        expect(line).not.toContain('${');
        // A .env copied from .env.example binds to loopback; compose's settings win over it.
        expect(line).toContain('-e HTTP_HOST=0.0.0.0 ');
        expect(line).toContain('-e DATABASE_URL=postgres://clickdesk:pw-test@postgres:5432/clickdesk ');
        expect(line).toContain('-e REDIS_URL=redis://redis:6379 ');
        expect(line).toContain('./secrets/receipt-signing.key:/run/secrets/receipt-signing.key:ro');
        expect(line).toContain(`-e INSTANCE_ID=${service} `);
      }
      expect(runs.prometheus).toContain('/monitoring/rules:/etc/prometheus/rules:ro');
      expect(runs.grafana).toContain(
        '/monitoring/grafana/dashboards:/var/lib/grafana/dashboards/clickdesk:ro',
      );
      const promtool = await promtoolCheck();
      if (promtool.code === 127 && !process.env.CI)
        console.warn('promtool missing: compose Prometheus config not checked');
      else expect(promtool).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
    });

    it('runs the simulator target, and an app container that reaches ClickDesk through it', async () => {
      await podman([
        'build',
        '--format',
        'docker',
        '--network',
        'host',
        '--target',
        'simulator',
        '--tag',
        SIMULATOR_IMAGE,
        '.',
      ]);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
      await podman([
        'run',
        '--detach',
        '--name',
        'cdbs-deploy-simulator',
        '--network',
        'host',
        '--env',
        `SIMULATOR_PORT=${port}`,
        '--env',
        'SIMULATOR_HOST=127.0.0.1',
        '--env',
        `SIMULATOR_PUBLIC_URL=${url}`,
        '--env',
        `SIMULATOR_WEBHOOK_SECRET=${webhookSecret}`,
        SIMULATOR_IMAGE,
      ]);
      const app = new AppContainer('cdbs-deploy-single', await freePort(), await freePort());
      await app.run(
        IMAGE,
        {
          CLICKDESK_API_URL: `${url}/api/`,
          CLICKDESK_APP_TOKEN: 'xapp-sandbox-app-token',
          CLICKDESK_BOT_TOKEN: 'xoxb-sandbox-bot-token',
          WEBHOOK_SECRETS: webhookSecret,
          MASTER_KEY: newMasterKey(),
        },
        signingKeyFile(),
      );
      await app.ready();
      const counters = (await (await fetch(`${url}/sandbox/counters`)).json()) as { open_links: number };
      expect(counters.open_links).toBeGreaterThan(0);
    });
  });

  describe('two app containers on PostgreSQL and Redis, the simulator standing in for ClickDesk', () => {
    const database = `cdbs_deploy_${Date.now().toString(36)}`;
    let sim: Simulator;
    let keyFile: string;
    let env: Record<string, string>;
    const apps: AppContainer[] = [];

    beforeAll(async () => {
      await adminQuery(`CREATE DATABASE ${database}`);
      // ClickDesk redelivers for as long as the test runs; its rate limits stay the contract's.
      sim = new Simulator({ agentJoinDelayMs: -1, maxRetries: 1_000 });
      await sim.listen(0, '127.0.0.1');
      keyFile = signingKeyFile();
      env = {
        CLICKDESK_API_URL: sim.apiUrl,
        CLICKDESK_APP_TOKEN: sim.options.appToken,
        CLICKDESK_BOT_TOKEN: sim.team.botToken,
        DATABASE_URL: DATABASE_URL.replace(/\/[^/]*$/, `/${database}`),
        REDIS_URL,
        MASTER_KEY: newMasterKey(),
        WEBHOOK_SECRETS: sim.webhookSecrets.join(','),
        OPERATOR_NAME: 'Deploy Test',
        OPERATOR_CONTACT: 'ops@example.com',
      };
      for (const name of ['cdbs-deploy-a', 'cdbs-deploy-b'])
        apps.push(new AppContainer(name, await freePort(), await freePort()));
    });
    afterAll(async () => {
      for (const app of apps) await podmanTry(['rm', '--force', '--time', '0', app.name]);
      await podmanTry(['rm', '--force', '--time', '0', 'cdbs-deploy-other-key']);
      await podmanTry(['pod', 'rm', '--force', 'clickdesk-bot-pod-0']);
      await podmanTry(['secret', 'rm', 'clickdesk-bot']);
      await sim?.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    });

    it('answers every visitor message exactly once through a graceful restart and a SIGKILL', async () => {
      const [a, b] = apps as [AppContainer, AppContainer];
      for (const app of apps) await app.run(IMAGE, env, keyFile);
      await Promise.all(apps.map((app) => app.ready()));
      const health = await podmanTry(['healthcheck', 'run', a.name]);
      expect(health.code).toBe(0);

      const traffic = new ChatTraffic(sim);
      traffic.start(12);
      await sleep(SOAK_MS / 2);

      // Graceful: SIGTERM, the drain, exit 0; then back.
      await podman(['stop', '--time', '30', a.name], 60_000);
      expect(await a.exitCode()).toBe(0);
      expect(await a.logs()).toMatch(/"drained":true.*"msg":"stopped"/);
      await podman(['start', a.name]);
      await a.ready();
      await sleep(5_000);

      // Crash: SIGKILL mid-conversation; the other instance and the restarted one take over.
      await podman(['kill', '--signal', 'KILL', b.name]);
      expect(await b.exitCode()).toBe(137);
      await sleep(2_000);
      await podman(['start', b.name]);
      await b.ready();
      await sleep(SOAK_MS / 2);

      figures.rssMiBAfterSoak = Object.fromEntries(
        await Promise.all(apps.map(async (app) => [app.name, Math.round(await app.rssMiB())])),
      );
      await traffic.stop();
      await sleep(3_000); // a late duplicate would land meanwhile
      const tally = traffic.tally();
      figures.restartAndKill = tally;
      expect(tally.sent).toBeGreaterThan(50);
      expect(tally).toEqual({
        sent: tally.sent,
        answeredOnce: tally.sent,
        answeredTwice: 0,
        unanswered: 0,
        badGreetings: 0,
      });
      expect(sim.counters.eventsExpired).toBe(0);
      // The image's memory settings keep each instance well under 150 MB after the soak.
      for (const rss of Object.values(figures.rssMiBAfterSoak as Record<string, number>))
        expect(rss).toBeLessThan(150);
    });

    it('refuses to start an instance whose receipt signing key differs from the others’', async () => {
      const other = new AppContainer('cdbs-deploy-other-key', await freePort(), await freePort());
      await other.run(IMAGE, env, signingKeyFile());
      await podman(['wait', other.name], 60_000);
      expect(await other.exitCode()).toBe(1);
      expect(await other.logs()).toMatch(
        /RECEIPT_SIGNING_KEY_FILE \(\/run\/secrets\/receipt-signing\.key\) holds a receipt signing key other than/,
      );
    });

    it('plays the Kubernetes ConfigMap, Secret and Deployment until the pod answers /readyz', async () => {
      const ports = { http: await freePort(), health: await freePort(), metrics: await freePort() };
      const values: Record<string, string> = {
        ...env,
        ADMIN_TOKEN: 'deploy-test-admin-token-0123456789',
        'receipt-signing.key': readFileSync(keyFile, 'utf8'),
      };
      // podman 4.3 reads a Secret for kube play as a JSON map of base64 values (`podman secret create`).
      const secret = Object.fromEntries(
        secretKeys().map((k) => {
          if (values[k] === undefined)
            throw new Error(`secret.yaml names ${k}, which this test does not fill`);
          return [k, Buffer.from(values[k]).toString('base64')];
        }),
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-kube-'));
      writeFileSync(path.join(dir, 'secret.json'), JSON.stringify(secret), { mode: 0o600 });
      await podmanTry(['secret', 'rm', 'clickdesk-bot']);
      await podman(['secret', 'create', 'clickdesk-bot', path.join(dir, 'secret.json')]);
      const manifests = path.join(dir, 'play.yaml');
      writeFileSync(
        manifests,
        playableManifests({ image: IMAGE, apiUrl: sim.apiUrl, redisUrl: REDIS_URL, keyFile, ports }),
      );
      await podman(['kube', 'play', manifests], 120_000);
      const pod = new AppContainer('clickdesk-bot-pod-0-app', ports.http, ports.health);
      await pod.ready(90_000);
      const user = await podman(['exec', pod.name, 'id', '-u']);
      expect(user).toBe('1000');
      await podman(['kube', 'down', manifests], 120_000);
    });
  });
});
