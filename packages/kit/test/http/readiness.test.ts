import request from 'supertest';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';

/** /readyz and clickdesk_dependency_up tell the truth about storage and the RTM links. */
describe('GET /readyz', () => {
  let pair: SandboxPair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('says 503 with the reason while storage cannot commit, and 200 once it can, by itself', async () => {
    let full = false;
    pair = await startSandboxPair({
      app: {
        storageProbe: () =>
          full
            ? Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))
            : Promise.resolve(),
        storageProbeMs: 50,
      },
    });
    const http = pair.app.http;
    expect((await request(http).get('/readyz')).status).toBe(200);
    full = true;
    let res = await request(http).get('/readyz');
    for (let i = 0; i < 40 && res.status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 25));
      res = await request(http).get('/readyz');
    }
    expect(res.status).toBe(503);
    expect(res.body.reasons).toEqual([
      expect.stringMatching(/^storage cannot commit \(database or disk is full\)/),
    ]);
    expect(res.body.dependencies.storage.up).toBe(false);
    expect(res.body.dependencies.rtm).toEqual({ up: true });
    const scrape = await request(http).get('/metrics');
    expect(scrape.text).toMatch(/clickdesk_dependency_up\{dependency="storage"\} 0/);
    expect(scrape.text).toMatch(/clickdesk_dependency_up\{dependency="rtm"\} 1/);
    expect(scrape.text).toMatch(/clickdesk_dependency_up\{dependency="rate_store"\} 1/);

    full = false;
    for (let i = 0; i < 40 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      res = await request(http).get('/readyz');
    }
    expect(res.status).toBe(200);
    expect(res.body.reasons).toEqual([]);
  });

  it('says 503 with the reason once intake stops', async () => {
    pair = await startSandboxPair();
    await pair.app.gateway.pause(0);
    const res = await request(pair.app.http).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.reasons).toEqual(['intake is stopped']);
  });
});
