import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DISCONNECT_REASONS, parseFrame } from '../../src/clickdesk/wire';
import { lifecycleEventSchema } from '../../src/lifecycle/lifecycle-event';
import { CONTRACT_LIMITS } from '../../src/rate-limit/bucket-spec';
import { DEFAULT_LIMITS } from '@clickdesk-bot/sandbox';

const root = path.join(__dirname, '../../../..');
/** Written by `npm run bench -- --markdown docs/benchmarks.md`, never by hand: linked before its first run. */
const WRITTEN_BY_BENCH = 'docs/benchmarks.md';
const doc = readFileSync(path.join(root, 'docs/clickdesk-contract.md'), 'utf8');
const section = (heading: string): string => {
  const start = doc.indexOf(`## ${heading}`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
};
/** First-column values of the markdown tables' body rows in a section, backticks removed. */
const firstColumn = (text: string): string[] => {
  const lines = text.split('\n');
  return lines
    .filter((line, i) => !lines[i + 1]?.startsWith('|---'))
    .map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined);
};

describe('docs/clickdesk-contract.md', () => {
  it('lists every Web API method with the limit the app plans with and the simulator enforces', () => {
    const rows = [...section('1. Web API').matchAll(/^\| `([A-Za-z0-9.]+)` \| (\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(Object.fromEntries(rows)).toEqual(CONTRACT_LIMITS.perMethod);
    expect(Object.fromEntries(rows)).toEqual(DEFAULT_LIMITS);
  });

  it('names the disconnect reasons the adapter understands', () => {
    expect(firstColumn(section('2. Real-time messaging (RTM)')).sort()).toEqual(
      [...DISCONNECT_REASONS].sort(),
    );
  });

  it('lists exactly the event types the adapter models', () => {
    const types = firstColumn(section('3. Events'));
    expect(types.length).toBeGreaterThan(0);
    // A modelled type with no fields is a protocol error; a type the app does not model is not.
    const frame = (type: string) =>
      parseFrame(
        JSON.stringify({
          envelope_id: 'e1',
          type: 'events_api',
          payload: { type: 'event_callback', team_id: 'T1', event_id: 'Ev1', event_time: 0, event: { type } },
        }),
      );
    for (const type of types) expect({ type, kind: frame(type).kind }).toEqual({ type, kind: 'invalid' });
    expect(frame('something_new').kind).toBe('envelope');
  });

  it('lists exactly the lifecycle webhooks the app accepts', () => {
    const accepted = lifecycleEventSchema.options.map((o) => o.shape.type.value);
    expect(firstColumn(section('4. Lifecycle webhooks')).sort()).toEqual([...accepted].sort());
  });

  it('is what the README points to, and every relative link of the README and of docs/ resolves', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('](docs/clickdesk-contract.md)');
    const pages = [
      'README.md',
      ...readdirSync(path.join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    expect(pages).toContain('docs/architecture.md');
    // A relative link resolves from the page's own folder; anchors and absolute URLs are not checked.
    const dead = pages.flatMap((page) =>
      [...readFileSync(path.join(root, page), 'utf8').matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)]
        .map((m) => path.posix.join(path.posix.dirname(page), m[1] ?? ''))
        .filter((target) => target !== WRITTEN_BY_BENCH && !existsSync(path.join(root, target)))
        .map((target) => `${page} → ${target}`),
    );
    expect(dead).toEqual([]);
  });
});
