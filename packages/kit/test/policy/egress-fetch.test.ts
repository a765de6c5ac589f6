import { createEgressFetch } from '../../src/policy/egress-fetch';

describe('egress (Terms 4.8.2, 4.8.3)', () => {
  it('reaches only the allowed origins', async () => {
    const calls: string[] = [];
    const base = ((input: string | URL) => {
      calls.push(input.toString());
      return Promise.resolve(new Response('{}'));
    }) as typeof fetch;
    const egress = createEgressFetch(['http://127.0.0.1:4100/api/'], base);
    await egress('http://127.0.0.1:4100/api/chat.postMessage');
    await expect(egress('https://tracker.example/collect')).rejects.toMatchObject({ code: 'EGRESS_BLOCKED' });
    await expect(egress('http://127.0.0.1:4101/api/x')).rejects.toThrow(/EGRESS_ALLOWED_ORIGINS/);
    expect(calls).toEqual(['http://127.0.0.1:4100/api/chat.postMessage']);
  });
});
