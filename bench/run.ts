/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the
 * same run (these machines are noisy; absolute figures vary, ratios much less).
 */
import { parseArgs } from 'node:util';
import { governorBenchmark } from './governor.bench';
import { policyBenchmark } from './policy.bench';
import { ingestBenchmark } from './ingest.bench';
import { erasureBenchmark } from './erasure.bench';
import { storageBenchmark } from './storage.bench';
import { oauthRotationBenchmark } from './oauth-rotation.bench';
import { formatReport } from './report';

const HELP = `Usage: npm run bench -- [options]

Runs the benchmarks and prints each figure beside its baseline and their ratio.

Options:
  --only NAME          run one benchmark: ingest, storage, erasure, governor, policy, oauth (oauth runs only when named)
  --events N           events per ingest round (default 100000)
  --rounds N           interleaved rounds; the median is reported (default 3)
  --connections N      RTM links for both the baseline and the gateway (default 2)
  --messages N         messages per storage round (default 20000)
  --subject-messages N messages of the erased subject (default 100000)
  --team-messages N    messages of the erased team (default 1000000)
  --databases LIST     databases to measure: sqlite,postgres, or none (default both; postgres needs
                       DATABASE_URL or the default postgres://postgres@127.0.0.1:5432/test)
  --calls N            calls per governor round (default 50000; Redis rounds use at most 5000)
  --redis URL          Redis for the shared-budget figures (default REDIS_URL or redis://127.0.0.1:6379;
                       "none" to skip them)
  --policy-messages N  outbound messages checked per policy round (default 50000)
  --teams N            oauth: installed teams (default 100)
  --minutes N          oauth: minutes of traffic (default 10)
  --token-ttl N        oauth: seconds an access token lives at ClickDesk (default 60)
  --json               print the reports as JSON instead of tables
  -h, --help           show this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      events: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '2' },
      calls: { type: 'string', default: '50000' },
      messages: { type: 'string', default: '20000' },
      'subject-messages': { type: 'string', default: '100000' },
      'team-messages': { type: 'string', default: '1000000' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      redis: { type: 'string' },
      'policy-messages': { type: 'string', default: '50000' },
      teams: { type: 'string', default: '100' },
      minutes: { type: 'string', default: '10' },
      'token-ttl': { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const progress = (line: string): void => {
    process.stderr.write(`  … ${line}\n`);
  };
  const known = ['ingest', 'storage', 'erasure', 'governor', 'policy', 'oauth'];
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const kinds = values.databases === 'none' ? [] : values.databases.split(',').map((k) => k.trim());
  for (const k of kinds)
    if (k !== 'sqlite' && k !== 'postgres')
      throw new Error(`--databases takes sqlite and/or postgres, got "${k}"`);
  const databases = kinds as Array<'sqlite' | 'postgres'>;
  if (values.only && !known.includes(values.only))
    throw new Error(`--only must be one of: ${known.join(', ')}`);

  const reports = [];
  if (!values.only || values.only === 'ingest') {
    reports.push(
      await ingestBenchmark(
        {
          events: int('events', values.events, 1000),
          rounds: int('rounds', values.rounds, 1),
          connections: int('connections', values.connections, 1),
          conversations: 1000,
          durable: databases,
          databaseUrl,
        },
        progress,
      ),
    );
  }
  if (!values.only || values.only === 'storage') {
    reports.push(
      await storageBenchmark(
        {
          kinds: databases,
          messages: int('messages', values.messages, 1000),
          rounds: int('rounds', values.rounds, 1),
          databaseUrl,
        },
        progress,
      ),
    );
  }
  if (!values.only || values.only === 'erasure') {
    reports.push(
      await erasureBenchmark(
        {
          kinds: databases,
          subjectMessages: int('subject-messages', values['subject-messages'], 100),
          teamMessages: int('team-messages', values['team-messages'], 100),
          databaseUrl,
        },
        progress,
      ),
    );
  }
  if (!values.only || values.only === 'governor') {
    const redis = values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    reports.push(
      await governorBenchmark(
        {
          calls: int('calls', values.calls, 100),
          rounds: int('rounds', values.rounds, 1),
          redisUrl: redis === 'none' ? undefined : redis,
        },
        progress,
      ),
    );
  }
  if (!values.only || values.only === 'policy') {
    reports.push(
      policyBenchmark(
        {
          messages: int('policy-messages', values['policy-messages'], 100),
          rounds: int('rounds', values.rounds, 1),
        },
        progress,
      ),
    );
  }
  if (values.only === 'oauth') {
    reports.push(
      await oauthRotationBenchmark(
        {
          teams: int('teams', values.teams, 1),
          durationMs: int('minutes', values.minutes, 1) * 60_000,
          tokenTtlMs: int('token-ttl', values['token-ttl'], 2) * 1000,
          instances: 2,
          chatEveryMs: 50,
          databaseUrl,
        },
        progress,
      ),
    );
  }
  process.stdout.write(
    values.json ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map(formatReport).join('\n\n')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
