/**
 * @clickdesk-bot/sandbox: a ClickDesk simulator that speaks the app's wire contract (RTM,
 * Web API, OAuth install, signed lifecycle webhooks) with a visitor page, fault switches and
 * counters. `npm start` runs it when no credentials are set; `@clickdesk-bot/sandbox/testing`
 * drives it from a bot's tests.
 */
import type { SandboxModule } from '@clickdesk-bot/kit';
import { installThroughConsent } from './install-through-consent';
import { resetTeam } from './reset-team';
import { Simulator } from './simulator';

export { Simulator };
export { simulatorOptions, DEFAULT_LIMITS, type SimulatorOptions } from './simulator-options';
export type { SimulatorCounters } from './counters';
export { installThroughConsent, consentRedirect } from './install-through-consent';
export { resetTeam, type ResetReport } from './reset-team';
export type { SenderKind, SimConversation, SimMessage, SimVisitor } from './world';

// The kit loads this package by name in sandbox mode; this fails the build if it no longer fits.
const _seam = { Simulator, installThroughConsent, resetTeam } satisfies SandboxModule;
void _seam;
