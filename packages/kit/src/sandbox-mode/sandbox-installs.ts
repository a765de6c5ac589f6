import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BotApp } from '../app';
import { CodedError } from '../errors';
import { LifecycleJobs } from '../lifecycle/lifecycle-jobs';
import type { SandboxSimulator } from './sandbox-seam';
import type { Storage } from '../storage/open-storage';

export interface SandboxInstallsOptions {
  sandbox: SandboxSimulator;
  app: Pick<BotApp, 'worker'>;
  storage: Pick<Storage, 'sql'>;
  logger: Logger;
  /** How long a reset may wait for its erasure job. */
  erasureTimeoutMs?: number;
}

/** How to get the bot back after an uninstall, in the words of the log and the visitor page. */
export const reinstallHint = (sandboxUrl: string): string =>
  `reinstall it with: curl -s -XPOST ${sandboxUrl}/sandbox/reset -H 'content-type: application/json' -d '{}' (or restart with: npm start -- --reset)`;

/**
 * Sandbox mode only: ties the simulator's notion of "installed" to the app's. An uninstalled
 * team is logged with how to reinstall it, at the time and at every start while its tombstone
 * stands; a reset erases the team through the app's lifecycle jobs (webhook-free, but the same
 * job, worker, receipt and audit entry as `app.uninstalled`), then lifts the team's tombstone.
 */
export async function wireSandboxInstalls(opts: SandboxInstallsOptions): Promise<void> {
  const { sandbox, app, storage, logger } = opts;
  const log = logger.child({ part: 'sandbox' });
  sandbox.installs.onChange((change) => {
    if (change.kind === 'uninstalled') {
      log.warn(
        { teamId: change.teamId, code: 'SANDBOX_TEAM_UNINSTALLED' },
        `the app was uninstalled from sandbox team ${change.teamId} (app.uninstalled): it erased the team's Data and ignores its chats from now on (Terms 6.3); ${reinstallHint(sandbox.url)}`,
      );
    } else {
      log.info({ teamId: change.teamId }, `sandbox team ${change.teamId} reset: the app is installed again`);
    }
  });

  const sql = storage.sql;
  const worker = app.worker;
  if (!sql || !worker) {
    // STORAGE=memory has no lifecycle jobs and no tombstones: the team was never shut out.
    sandbox.installs.appSide = () =>
      Promise.resolve({ erased: false, note: 'STORAGE=memory: no erasure jobs or tombstones to act on' });
    return;
  }
  if (await sql.ctx.tombstones.isErased(sandbox.team.id, undefined)) {
    sandbox.installs.markUninstalled(sandbox.team.id);
  }
  const jobs = new LifecycleJobs(sql.db, sql.ctx.now);
  sandbox.installs.appSide = async (teamId) => {
    await jobs.record(`sandbox-reset:${randomUUID()}`, 'app.uninstalled', { kind: 'team', teamId });
    worker.kick();
    const deadline = Date.now() + (opts.erasureTimeoutMs ?? 120_000);
    while ((await jobs.pendingCount()).pending > 0) {
      if (Date.now() > deadline)
        throw new CodedError(
          'SANDBOX_RESET_TIMEOUT',
          'the reset waited too long for its erasure job; see the lifecycle log lines, then reset again',
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sql.ctx.tombstones.liftTeam(teamId);
    log.info({ teamId }, `sandbox team ${teamId} erased through a lifecycle job (receipt issued)`);
    return { erased: true, tombstone_lifted: true };
  };
}
