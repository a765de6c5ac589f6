import { installThroughConsent } from './install-through-consent';
import type { Simulator } from './simulator';
import type { AppReinstall } from './team-installs';

export interface ResetReport {
  team_id: string;
  /** What the app did: erased the team through its lifecycle jobs and accepts it again. */
  app: AppReinstall;
  resets: number;
}

/**
 * `POST /sandbox/reset` and `npm start -- --reset`: the app erases the team through its normal
 * erasure path and accepts it again, then ClickDesk's side starts afresh (no visitors, chats or
 * messages) with the app installed.
 */
export async function resetTeam(sim: Simulator, teamId = sim.team.id): Promise<ResetReport> {
  const app = sim.installs.appSide
    ? await sim.installs.appSide(teamId)
    : { erased: false, note: 'no app is wired to this simulator' };
  for (const visitor of [...sim.world.visitors.values()])
    if (visitor.teamId === teamId) sim.world.deleteVisitor(visitor.id);
  sim.installs.markInstalled(teamId);
  // An app that installs by OAuth gets its tokens back the way it got them: through the consent page.
  if (sim.options.appUrl && sim.options.oauth.redirectUris.length > 0) {
    const installed = await installThroughConsent(sim.options.appUrl, teamId);
    if (installed.status !== 200)
      throw new Error(`reinstalling ${teamId} through the install flow failed (${installed.status})`);
  }
  return { team_id: teamId, app, resets: sim.installs.resets };
}
