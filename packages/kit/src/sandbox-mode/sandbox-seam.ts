import { CodedError } from '../errors';

/**
 * What sandbox mode needs of the simulator package (`@clickdesk-bot/sandbox`), declared here so
 * the kit never imports it: it is loaded by `loadSandbox` only when sandbox mode starts, and a
 * production install may leave it out (devDependency). The sandbox package checks it fits.
 */
export interface SandboxInstalls {
  isInstalled(teamId: string): boolean;
  markUninstalled(teamId: string): void;
  onChange(listener: (change: { kind: 'uninstalled' | 'reinstalled'; teamId: string }) => void): () => void;
  appSide: ((teamId: string) => Promise<Record<string, unknown>>) | undefined;
}

export interface SandboxSimulator {
  readonly options: {
    appToken: string;
    appUrl?: string;
    webhook: { url: string | undefined };
    oauth: { clientId: string; clientSecret: string; redirectUris: string[] };
  };
  readonly installs: SandboxInstalls;
  readonly team: { readonly id: string };
  readonly webhookSecrets: readonly string[];
  readonly url: string;
  readonly apiUrl: string;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export interface SandboxSimulatorOptions {
  webhook: { url: undefined; secrets: string[]; retries: number; timeoutMs: number; retryBaseMs: number };
  oauth: {
    clientId: string;
    clientSecret: string;
    redirectUris: string[];
    codeTtlMs: number;
    accessTokenTtlMs: number;
    refreshReuseMs: number;
  };
}

export interface SandboxModule {
  Simulator: new (options: SandboxSimulatorOptions) => SandboxSimulator;
  installThroughConsent(appUrl: string, teamId: string): Promise<{ status: number }>;
  resetTeam(sim: never): Promise<{ team_id: string; app: Record<string, unknown> }>;
}

/** The simulator package, or a message that says how to get it. */
export function loadSandbox(): SandboxModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@clickdesk-bot/sandbox') as SandboxModule;
  } catch (err) {
    throw new CodedError(
      'SANDBOX_MISSING',
      'Sandbox mode needs the simulator package @clickdesk-bot/sandbox, which is not installed (a production install leaves out devDependencies). Install it (npm install --save-dev @clickdesk-bot/sandbox) or set ClickDesk credentials for live mode.',
      { cause: err },
    );
  }
}
