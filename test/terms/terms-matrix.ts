/**
 * ClickDesk API terms → the control that keeps each clause → the test that proves it.
 * `npm run compliance` runs these tests and prints the matrix; docs/terms-matrix.md carries it
 * (`npm run compliance:docs` rewrites its table and operator duties from this file).
 * A row with `operator` is (also) a duty of whoever runs the app: code cannot keep it alone.
 * A row with `pending` names the open issue that will supply its control.
 */
export interface ClauseRow {
  clause: string;
  obligation: string;
  control: string;
  /** Test file (from the repository's root) and the exact test title. */
  tests: Array<{ file: string; title: string }>;
  operator?: string;
  pending?: string;
}

const docs = {
  file: 'test/terms/operator-duties.test.ts',
  title: 'states every operator duty in the terms matrix doc',
};

export const TERMS_MATRIX: ClauseRow[] = [
  {
    clause: '4.1',
    obligation: 'Undocumented API parts may change; do not rely on them',
    control:
      'All wire details in packages/kit/src/clickdesk/; frames validated; unknown events acknowledged and ignored',
    tests: [
      {
        file: 'packages/kit/test/clickdesk/gateway-resilience.test.ts',
        title: 'drops 100 malformed frames without crashing or losing the link',
      },
      {
        file: 'packages/kit/test/clickdesk/gateway-resilience.test.ts',
        title: 'acknowledges event types it does not model without handling them',
      },
    ],
  },
  {
    clause: '4.2',
    obligation: 'Use the API lawfully, respecting privacy',
    control: 'Privacy controls of 4.8 and 6.x; lawful use is the operator’s',
    tests: [docs],
    operator:
      'Run the app lawfully in every jurisdiction you serve; keep the privacy policy (clause 7) accurate.',
  },
  {
    clause: '4.3',
    obligation: 'No access beyond what is allowed; do not degrade the service',
    control:
      'Reconnect backoff with jitter; at most RTM_CONNECTIONS (≤ 10) links per instance and RTM_APP_LINKS (10) for the app, its instances sharing a register of link seats; egress only to ClickDesk',
    tests: [
      {
        file: 'packages/kit/test/clickdesk/fleet-gateways.test.ts',
        title:
          'opens only the links the cap allows; the instance left without one is ready and says it is by design',
      },
      {
        file: 'packages/kit/test/clickdesk/gateway-resilience.test.ts',
        title: 'backs off on "too_many_websockets" and keeps serving on the links it has',
      },
      { file: 'packages/kit/test/policy/egress-fetch.test.ts', title: 'reaches only the allowed origins' },
    ],
  },
  {
    clause: '4.4',
    obligation: 'Transmit no malware',
    control: 'Outbound links limited to the team’s domains; dependency tree screened',
    tests: [
      {
        file: 'packages/kit/test/policy/channel-policy.test.ts',
        title: 'allows links to the team domain and its subdomains only',
      },
      docs,
    ],
    operator: 'Keep dependencies patched (npm audit) and review every dependency a fork adds.',
  },
  {
    clause: '4.5',
    obligation: 'No reverse engineering of the API',
    control: 'The simulator implements only the published contract (docs/clickdesk-contract.md)',
    tests: [docs],
    operator: 'Do not probe ClickDesk beyond the documented API; extend the contract, not the probing.',
  },
  {
    clause: '4.6',
    obligation: 'Do not replicate or compete with ClickDesk’s core product',
    control: 'The app is a bot on top of ClickDesk chats, not a chat service',
    tests: [docs],
    operator: 'Keep a fork a bot or integration, not a replacement live-chat service.',
  },
  {
    clause: '4.7',
    obligation: 'Do not sell or redistribute API access',
    control: 'Tokens are never logged, echoed in errors or exposed over HTTP',
    tests: [
      {
        file: 'packages/kit/test/config/load-config.test.ts',
        title: 'never echoes a token value in the error',
      },
      docs,
    ],
    operator: 'Do not resell or share the app or bot tokens.',
  },
  {
    clause: '4.8.1',
    obligation: 'No ads in chat channels; nothing that resembles ClickDesk’s own messages',
    control: 'Channel policy on every Web API call carrying text (packages/kit/src/policy/)',
    tests: [
      {
        file: 'packages/kit/test/policy/channel-policy.test.ts',
        title: 'blocks every advertising and impersonating message in the corpus',
      },
      {
        file: 'packages/kit/test/policy/channel-policy.test.ts',
        title: 'lets every ordinary support answer in the corpus through',
      },
      {
        file: 'packages/kit/test/policy/fork-handler-guard.test.ts',
        title: 'replaces an ad with the fallback reply and counts it',
      },
      {
        file: 'packages/kit/test/policy/fork-handler-guard.test.ts',
        title: 'cannot be bypassed by calling the Web API client directly',
      },
    ],
  },
  {
    clause: '4.8.2',
    obligation: 'No Data in ads or for ad targeting',
    control:
      'No advertising/analytics/tracking package may be imported or installed; egress only to ClickDesk',
    tests: [
      {
        file: 'test/terms/egress-and-dependencies.test.ts',
        title: 'has no advertising, analytics, tracking or mail SDK in the installed dependency tree',
      },
      {
        file: 'test/terms/egress-and-dependencies.test.ts',
        title: 'imports no advertising, analytics, tracking or mail package anywhere in src',
      },
      {
        file: 'test/terms/egress-and-dependencies.test.ts',
        title: 'is the only way app code opens outbound connections',
      },
    ],
  },
  {
    clause: '4.8.3',
    obligation: 'No contacting users outside ClickDesk with contact details from it',
    control: 'Contact details go back only into their own conversation; no mail package; egress allowlist',
    tests: [
      {
        file: 'packages/kit/test/policy/channel-policy.test.ts',
        title: 'lets a contact detail back into its own conversation only',
      },
      {
        file: 'packages/kit/test/policy/fork-handler-guard.test.ts',
        title: "stops a visitor's email from reaching another conversation",
      },
    ],
  },
  {
    clause: '4.9',
    obligation: 'Never attempt to exceed rate limits',
    control:
      'Rate governor inside the Web API client: sliding windows per method, per-conversation bucket, calls counted at their answer, server limits followed both ways, shared through Redis; 429 pauses its bucket; apps.connections.open only on a link seat the instance holds',
    tests: [
      {
        file: 'packages/kit/test/outage/fleet-rollout.test.ts',
        title:
          'keeps at least 8 of 10 links, is back to 10 within 10 s of each restart, opens ≤ 20 a minute, answers each message once',
      },
      {
        file: 'packages/kit/test/rate-limit/governor-load.test.ts',
        title: 'sends no 429-bound call, keeps its queue bounded, and uses at least 90% of the limit',
      },
      {
        file: 'packages/kit/test/rate-limit/recovery-burst.test.ts',
        title: 'draws no 429 from the simulator through two instances sharing Redis',
      },
      {
        file: 'packages/kit/test/rate-limit/server-limit-change.test.ts',
        title: 'follows a lowered chat.postMessage limit and goes back up when it is restored',
      },
      {
        file: 'packages/kit/test/rate-limit/governor-load.test.ts',
        title: 'together send no 429-bound call and use at least 90% of the limit',
      },
      {
        file: 'packages/kit/test/rate-limit/rate-governor.test.ts',
        title: 'pauses a bucket for Retry-After after a 429 and then retries the call',
      },
      {
        file: 'test/monitoring/monitoring-kit.test.ts',
        title: 'passes promtool test rules: every alert fires on its signal and stays quiet otherwise',
      },
    ],
  },
  {
    clause: '4.10',
    obligation: 'No gambling or adult content promotion',
    control: 'Channel policy blocks gambling promotion',
    tests: [
      { file: 'packages/kit/test/policy/channel-policy.test.ts', title: 'blocks gambling promotion' },
      docs,
    ],
    operator: 'Do not deploy the app on sites with adult content, gambling, or age-restricted sales.',
  },
  {
    clause: '4.11',
    obligation: 'Do not give others access to the API',
    control: 'One install per operator; admin surfaces need tokens',
    tests: [
      {
        file: 'packages/kit/test/http/metrics.test.ts',
        title: 'refuses /metrics without the token when METRICS_TOKEN is set',
      },
      docs,
    ],
    operator: 'Only your organisation runs the app with its tokens.',
  },
  {
    clause: '5',
    obligation: 'No suggestion of endorsement by ClickDesk',
    control: 'README notice; bot messages can never carry ClickDesk’s name',
    tests: [
      {
        file: 'test/terms/operator-duties.test.ts',
        title: 'says the project is not affiliated with ClickDesk',
      },
      {
        file: 'packages/kit/test/policy/channel-policy.test.ts',
        title: "never lets ClickDesk's name into a bot message, however it is spelled",
      },
    ],
  },
  {
    clause: '6.1',
    obligation: 'Refresh cached Data at least every 24 h',
    control:
      'Freshness refresher re-confirms with ClickDesk at background priority; reads never serve Data confirmed over 24 h ago; what is not re-confirmed is dropped',
    tests: [
      {
        file: 'packages/kit/test/lifecycle/freshness.test.ts',
        title:
          're-confirms what ClickDesk still has, and erases at its next refresh a visitor deleted upstream',
      },
      {
        file: 'packages/kit/test/lifecycle/freshness.test.ts',
        title: 'never serves, and then drops, a record not re-confirmed within 24 h',
      },
    ],
  },
  {
    clause: '6.2',
    obligation: 'Store and serve Data with strong encryption',
    control:
      'libsodium XChaCha20-Poly1305 envelope encryption of every Data field under per-person keys; blind indexes for ids; exports only over TLS or loopback',
    tests: [
      {
        file: 'packages/kit/test/storage/encrypted-storage.test.ts',
        title: 'keeps no name, email or message text in clear anywhere in the database',
      },
      {
        file: 'packages/kit/test/storage/encrypted-storage.test.ts',
        title: 'refuses a ciphertext moved to another row, with a clear error',
      },
      {
        file: 'packages/kit/test/storage/encrypted-storage.test.ts',
        title: 'refuses a tampered ciphertext instead of returning garbage',
      },
      {
        file: 'packages/kit/test/storage/encrypted-storage.test.ts',
        title:
          'rotates the master key while traffic continues, old keys decrypting until the re-wrap completes',
      },
      {
        file: 'packages/kit/test/lifecycle/access-export.test.ts',
        title: 'serves decrypted Data only over TLS or loopback',
      },
    ],
  },
  {
    clause: '6.3',
    obligation: 'Delete a user’s Data on request, deauthorization or account closure; a team’s on uninstall',
    control:
      'Signed deletion webhooks recorded durably, obeyed only for a team the app holds; worker shreds keys, deletes rows, checkpoints SQLite, signs a receipt; tombstones',
    tests: [
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: "data_deletion.requested erases exactly that visitor's Data",
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: 'app.uninstalled erases the whole team and nothing of another',
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: 'keeps an erased visitor from coming back through a late event',
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: "leaves neither the subject's plaintext nor its ciphertext in the database files",
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: 'answers a replayed webhook-id with 2xx and records no second job',
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title:
          "obeys a team event for the bot token's own team (auth.test) even before anything of it is stored",
      },
      {
        file: 'packages/kit/test/http/lifecycle-webhook-router.test.ts',
        title: 'holds a team it stores anything of, besides its own',
      },
      {
        file: 'packages/kit/test/lifecycle/erasure-crash.test.ts',
        title: 'finishes after restart, with exactly one receipt counting every row',
      },
    ],
  },
  {
    clause: '6.4',
    obligation: 'Delete all Data at termination',
    control:
      'api_access.terminated naming this app destroys every key and row, keeping only receipts and the audit log, and stops the app; one naming another app changes nothing',
    tests: [
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: 'api_access.terminated erases everything, keys included, keeps the proof and stops the app',
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title:
          'ignores a signed api_access.terminated for another app: 200, no job, no receipt, nothing erased, app running',
      },
    ],
  },
  {
    clause: '6.5',
    obligation: 'Store no Data beyond what the terms allow',
    control:
      'Only what the bot needs is kept, encrypted; handled events keep no payload; records expire at 24 h unless re-confirmed; message retention limit',
    tests: [
      {
        file: 'packages/kit/test/storage-memory.test.ts',
        title: 'keep only the newest messages across conversations',
      },
      {
        file: 'packages/kit/test/lifecycle/freshness.test.ts',
        title: 'never serves, and then drops, a record not re-confirmed within 24 h',
      },
    ],
  },
  {
    clause: '7',
    obligation: 'Maintain a user agreement and privacy policy',
    control:
      '/privacy and /terms pages naming the operator (OPERATOR_NAME, OPERATOR_CONTACT), linked from the visitor-facing chat page',
    tests: [
      {
        file: 'packages/kit/test/lifecycle/access-export.test.ts',
        title: 'serves both pages, each linking to the other',
      },
      {
        file: 'packages/kit/test/lifecycle/access-export.test.ts',
        title: 'is linked from the visitor-facing chat page',
      },
      {
        file: 'packages/kit/test/lifecycle/access-export.test.ts',
        title:
          'names the operator and its contact from OPERATOR_NAME and OPERATOR_CONTACT, escaped, or says to set them',
      },
    ],
    operator:
      'Set OPERATOR_NAME and OPERATOR_CONTACT, which the /privacy and /terms pages name (start-up warns in live mode while they are unset); check the pages state your legal basis and stay at least as protective as ClickDesk’s.',
  },
  {
    clause: '8.1',
    obligation: 'Reasonable security measures',
    control:
      'helmet on every response of every server; config validated at start, weak webhook secrets refused; no secrets in logs; admin endpoints behind tokens, the channel checked first, proxies trusted only if named (TRUST_PROXY); server timeouts and a connection cap; the sandbox never holds the operator’s secrets, answers its controls only on loopback with a Host check, and starts only when asked',
    tests: [
      {
        file: 'packages/kit/test/http/http-app.test.ts',
        title: 'sets security headers through helmet and hides the framework',
      },
      {
        file: 'packages/kit/test/config/load-config.test.ts',
        title: 'never echoes a token value in the error',
      },
      {
        file: 'packages/kit/test/config/load-config.test.ts',
        title: 'refuses weak or malformed webhook secrets, naming WEBHOOK_SECRETS and never echoing them',
      },
      {
        file: 'packages/kit/test/http/metrics.test.ts',
        title: 'sends the same security headers as the main server and hides the framework',
      },
      {
        file: 'packages/kit/test/http/admin-channel.test.ts',
        title: 'treats a request forwarded by a proxy not named in TRUST_PROXY as remote, even from loopback',
      },
      {
        file: 'packages/kit/test/http/admin-channel.test.ts',
        title: 'checks the channel before the token: a plain remote request learns nothing about the token',
      },
      {
        file: 'packages/kit/test/http/listen-hardened.test.ts',
        title: 'cuts off a client that never finishes its headers (slowloris) with 408',
      },
      {
        file: 'packages/kit/test/http/listen-hardened.test.ts',
        title: 'closes connections beyond the cap at once and keeps serving those it holds',
      },
      {
        file: 'packages/kit/test/sandbox/sandbox-abuse.test.ts',
        title:
          "never signs with the operator's secret: what it sends fails verification under WEBHOOK_SECRETS",
      },
      {
        file: 'packages/kit/test/sandbox/sandbox-abuse.test.ts',
        title: 'refuses its controls to a foreign Host (DNS rebinding) and sends nothing',
      },
      {
        file: 'packages/kit/test/config/start-mode.test.ts',
        title:
          'refuses to start the simulator unasked in production or from start:built, naming what is missing',
      },
    ],
  },
  {
    clause: '8.2',
    obligation: 'Report security deficiencies and intrusions to ClickDesk',
    control: 'Operator procedure in docs/terms-matrix.md (Operator duties)',
    tests: [docs],
    operator:
      'Report any intrusion or unauthorised access to ClickDesk in writing, promptly; make no public statement without its permission.',
  },
  {
    clause: '12.4',
    obligation: 'On termination, delete all Data and certify it on request',
    control:
      'Termination job, signed Ed25519 receipts, hash-chained audit log, npm run certify (certificate) and verify',
    tests: [
      {
        file: 'packages/kit/test/cli/certify-cli.test.ts',
        title: 'writes a certificate of deletion that verifies, and fails verification with one byte altered',
      },
      {
        file: 'packages/kit/test/lifecycle/deletion-webhooks.test.ts',
        title: 'issues receipts that verify, and fail with one altered byte',
      },
    ],
  },
];
