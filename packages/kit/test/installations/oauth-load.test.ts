import { runOAuthLoad } from '../../bench/oauth-rotation.bench';
import { TEST_DATABASE_URL } from '../helpers/storage-fixtures';

const onPostgres = process.env.TEST_PG === '1' ? describe : describe.skip;

/** The load test of issue 13 at reduced scale; `npm run bench -- --only oauth` runs it full size. */
onPostgres('token rotation under load: 20 teams, two instances on PostgreSQL', () => {
  it('loses no installation, fails no reply for auth, and refreshes each token once per rotation', async () => {
    const ttl = 3_000;
    const r = await runOAuthLoad({
      teams: 20,
      durationMs: 12_000,
      tokenTtlMs: ttl,
      instances: 2,
      chatEveryMs: 100,
      databaseUrl: TEST_DATABASE_URL,
      sweepMs: 200,
    });
    expect(r.invalidGrant).toBe(0);
    expect(r.authFailures).toBe(0);
    expect(r.repliesMissing).toBe(0);
    expect(r.installationsLeft).toBe(20);
    // No duplicates: every refresh ClickDesk issued was committed by exactly one instance,
    // and no refresh token was ever presented twice.
    expect(r.grantsReplayed).toBe(0);
    expect(r.refreshesByApp).toBe(r.grantsIssued);
    // Every team rotated at least once per token lifetime (none expired unrefreshed for long),
    // and at most about once per half lifetime (no instance refreshed what another just had).
    expect(r.rotationsPerTeam.min).toBeGreaterThanOrEqual(Math.floor((r.seconds * 1000) / ttl) - 1);
    expect(r.rotationsPerTeam.max).toBeLessThanOrEqual(Math.ceil((r.seconds * 1000) / (ttl / 2)) + 2);
  }, 90_000);
});
