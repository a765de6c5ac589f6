import type { Simulator } from '@clickdesk-bot/sandbox';
import { ClickDeskOAuthClient, OAuthGrantError } from '../../src/installations/clickdesk-oauth-client';
import { silentLogger } from '../../src/logging/create-logger';
import { MemoryRateStore } from '../../src/rate-limit/memory-rate-store';
import { RateGovernor } from '../../src/rate-limit/rate-governor';
import { OAUTH, startOAuthSimulator } from '../helpers/oauth-pair';

describe('oauth.v2.access request timeout', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startOAuthSimulator();
  });
  afterEach(async () => {
    await sim.close();
  });

  it('counts from the permit, not from the queue: a refresh that waited longer than the timeout still reaches ClickDesk', async () => {
    const governor = new RateGovernor({
      // One call per 1.2 s: the second refresh waits three times the 400 ms request timeout.
      limits: {
        perMethod: { 'oauth.v2.access': 1 },
        windowMs: 1_200,
        marginMs: 0,
        perConversation: { ratePerSec: 1, burst: 1 },
      },
      store: new MemoryRateStore(),
      maxQueuePerMethod: 10,
      deadlineMs: { reply: 5_000, background: 5_000 },
      logger: silentLogger(),
    });
    const client = new ClickDeskOAuthClient({
      apiUrl: sim.apiUrl,
      clientId: OAUTH.clientId,
      clientSecret: OAUTH.clientSecret,
      redirectUri: () => 'http://127.0.0.1:9/oauth/callback',
      fetchImpl: fetch,
      governor,
      timeoutMs: 400,
    });
    const answers = await Promise.all(
      ['xoxe-1-unknown-a', 'xoxe-1-unknown-b'].map((token) =>
        client
          .refresh(token)
          .catch((err: unknown) => (err instanceof OAuthGrantError ? err.apiError : String(err))),
      ),
    );
    // Both reached ClickDesk, which refused the unknown tokens; none was aborted on leaving the queue.
    expect(answers).toEqual(['invalid_grant', 'invalid_grant']);
    governor.close();
  });
});
