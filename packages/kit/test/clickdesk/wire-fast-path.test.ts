import { frameFromJson, parseFrame } from '../../src/clickdesk/wire';

type Json = Record<string, unknown>;

const envelope = (event: Json): Json => ({
  envelope_id: 'env-1',
  type: 'events_api',
  accepts_response_payload: false,
  retry_attempt: 0,
  retry_reason: '',
  payload: {
    type: 'event_callback',
    team_id: 'T1',
    api_app_id: 'A1',
    event_id: 'Ev1',
    event_time: 1764370000,
    event,
  },
});

const VALID: Json[] = [
  envelope({
    type: 'message',
    conversation_id: 'C1',
    sender: { kind: 'visitor', id: 'V1' },
    text: 'hi',
    ts: '1.0',
  }),
  envelope({ type: 'message', conversation_id: 'C1', sender: { kind: 'bot', id: 'B1' }, text: '', ts: 17 }),
  envelope({
    type: 'conversation_started',
    conversation_id: 'C1',
    visitor: { id: 'V1', name: 'Ann' },
    page_url: '/x',
  }),
  envelope({ type: 'conversation_ended', conversation_id: 'C1', ended_by: 'visitor' }),
  envelope({ type: 'visitor_updated', visitor_id: 'V1' }),
  envelope({ type: 'agent_joined', conversation_id: 'C1', agent: { id: 'U1', name: 'Bo' } }),
  envelope({ type: 'typing_started', conversation_id: 'C1' }),
];

const HOSTILE_VALUES: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'y'.repeat(201),
  'z'.repeat(40_001),
  0,
  -1,
  1.5,
  '1',
  true,
  [],
  ['a'],
  {},
  { __proto__: { polluted: true } },
  'visitor',
  'message',
];

/** Every path to a value inside `value`, objects included. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  const nested = Object.entries(value as Json).flatMap(([k, v]) => paths(v, [...prefix, k]));
  return prefix.length ? [prefix, ...nested] : nested;
}

function withValue(frame: Json, path: string[], value: unknown): Json {
  const copy = structuredClone(frame);
  let at: Json = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Json;
  const last = path[path.length - 1] ?? '';
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

describe('RTM frame fast path', () => {
  it('reads every valid envelope exactly as the zod schemas do', () => {
    for (const frame of VALID) {
      const text = JSON.stringify(frame);
      expect(parseFrame(text)).toEqual(frameFromJson(JSON.parse(text), true));
      expect(parseFrame(text).kind).toBe('envelope');
    }
  });

  it('gives the schemas’ answer for every field of every envelope set to a hostile value or removed', () => {
    let compared = 0;
    for (const frame of VALID)
      for (const path of paths(frame))
        for (const value of HOSTILE_VALUES) {
          const text = JSON.stringify(withValue(frame, path, value));
          expect({ path, value, frame: parseFrame(text) }).toEqual({
            path,
            value,
            frame: frameFromJson(JSON.parse(text), true),
          });
          compared += 1;
        }
    expect(compared).toBeGreaterThan(1_000);
    expect(({} as Json).polluted).toBeUndefined();
  });
});
