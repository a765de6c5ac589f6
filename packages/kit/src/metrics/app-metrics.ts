import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayObserver } from '../clickdesk/gateway';
import type { KeyAgeSnapshot } from '../lifecycle/key-age';
import type { CryptoObserver } from '../storage/crypto/key-ring';
import { CONTRACT_LIMITS } from '../rate-limit/bucket-spec';
import type { BucketSnapshot, GovernorObserver, RateGovernor } from '../rate-limit/rate-governor';
import { presetContractSeries } from './contract-series';
import { HttpMetrics } from './http-metrics';
import { InstallationMetrics } from './installation-metrics';
import { DATABASE_READING, recentReading } from './recent-reading';
import { TallyHistogram } from './tally-histogram';

const METHODS = Object.keys(CONTRACT_LIMITS.perMethod);
export interface LifecycleSnapshot {
  pending: number;
  oldestPendingAgeSeconds: number;
  oldestConfirmationAgeSeconds: number;
}
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The app's Prometheus metrics, on a registry of its own (never the global one), so two apps
 * in one process (tests) do not collide. Names follow Prometheus conventions (base units,
 * `_total` counters). Labels are bounded sets only: method, outcome, reason, rule — never
 * conversation, visitor, agent or team ids.
 */
export class AppMetrics {
  readonly registry = new Registry();
  /** Installations and token rotation (see installation-metrics.ts). */
  readonly installations = new InstallationMetrics(this.registry);
  /** Requests the HTTP server answered, by route and status class (see http-metrics.ts). */
  readonly http = new HttpMetrics(this.registry);

  readonly apiRequests = this.counter(
    'clickdesk_api_requests_total',
    'Web API requests sent, by method and outcome.',
    ['method', 'outcome'],
  );
  readonly apiRatelimited = this.counter(
    'clickdesk_api_ratelimited_total',
    'HTTP 429 answers received from ClickDesk, by method (Terms 4.9: should stay 0).',
    ['method'],
  );
  readonly rateWait = new Histogram({
    name: 'clickdesk_ratelimit_wait_seconds',
    help: 'Time calls waited in the rate governor for capacity, by method and priority.',
    labelNames: ['method', 'priority'],
    buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly rateRefused = this.counter(
    'clickdesk_ratelimit_refused_total',
    'Calls the rate governor refused instead of queueing, by method and reason (queue_full, deadline).',
    ['method', 'reason'],
  );
  readonly rtmConnections = new Gauge({
    name: 'clickdesk_rtm_connections',
    help: 'RTM links currently open.',
    registers: [this.registry],
  });
  readonly rtmReconnects = this.counter(
    'clickdesk_rtm_reconnects_total',
    'RTM links replaced (the new link said hello), by what ended or notified the old one.',
    ['reason'],
  );
  /** Envelopes by outcome, counted as plain numbers per envelope and read into the counters when scraped. */
  private readonly envelopeTally = { recorded: 0, duplicate: 0, unmodelled: 0, not_recorded: 0 };
  private lastEnvelopeAt = 0;
  readonly rtmEvents = new Counter({
    name: 'clickdesk_rtm_events_total',
    help: 'RTM envelopes received, by outcome (recorded, duplicate, unmodelled, not_recorded).',
    labelNames: ['outcome'],
    registers: [this.registry],
    collect: () => {
      this.rtmEvents.reset();
      for (const [outcome, n] of Object.entries(this.envelopeTally)) this.rtmEvents.inc({ outcome }, n);
    },
  });
  readonly rtmDuplicates = new Counter({
    name: 'clickdesk_rtm_duplicates_dropped_total',
    help: 'Redelivered events dropped by deduplication.',
    registers: [this.registry],
    collect: () => {
      this.rtmDuplicates.reset();
      this.rtmDuplicates.inc(this.envelopeTally.duplicate);
    },
  });
  readonly rtmProtocolErrors = this.counter(
    'clickdesk_rtm_protocol_errors_total',
    'Malformed RTM frames dropped.',
    [],
  );
  readonly rtmLastEvent = new Gauge({
    name: 'clickdesk_rtm_last_event_timestamp_seconds',
    help: 'Unix time of the last envelope received.',
    registers: [this.registry],
    collect: () => {
      if (this.lastEnvelopeAt > 0) this.rtmLastEvent.set(this.lastEnvelopeAt / 1000);
    },
  });
  // Observed once per event: tallies (see tally-histogram.ts), not prom-client's Histogram.
  readonly rtmAckLatency = new TallyHistogram({
    name: 'clickdesk_rtm_ack_latency_seconds',
    help: 'From receiving an envelope to acknowledging it (recording included).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly handlerDuration = new TallyHistogram({
    name: 'clickdesk_handler_duration_seconds',
    help: 'Time to handle one event, by outcome.',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly botReplyLatency = new Histogram({
    name: 'clickdesk_bot_reply_latency_seconds',
    help: 'From committing a bot reply (with its event) to ClickDesk accepting it.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly cryptoOperations = this.counter(
    'clickdesk_crypto_operations_total',
    'Encryption-layer operations (encrypt, decrypt, wrap, unwrap, shred) by outcome; failed decrypts mean tampering or lost keys.',
    ['operation', 'outcome'],
  );
  readonly lifecycleJobSeconds = new Histogram({
    name: 'clickdesk_lifecycle_job_duration_seconds',
    help: 'Time to run a data-lifecycle job (erasure), by event type.',
    labelNames: ['event'],
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });
  readonly freshnessDropped = this.counter(
    'clickdesk_freshness_dropped_records_total',
    'Stored records dropped because ClickDesk deleted them upstream or they could not be re-confirmed within 24 h.',
    ['reason'],
  );
  readonly webhooksIgnored = this.counter(
    'clickdesk_webhooks_ignored_total',
    'Signed lifecycle webhooks answered but not obeyed: addressed to another app or a team this app does not hold, by reason.',
    ['reason'],
  );
  readonly policyBlocked = this.counter(
    'clickdesk_policy_blocked_messages_total',
    'Outbound messages the channel policy blocked, by rule (Terms 4.8).',
    ['rule'],
  );

  readonly deadLettersCreated = this.counter(
    'clickdesk_dead_letters_created_total',
    'Events (handler kept failing) and effects (ClickDesk refused them for good) set aside for an operator.',
    ['kind'],
  );
  readonly outboxRetries = this.counter(
    'clickdesk_outbox_retries_total',
    'Deliveries of a committed effect that failed transiently and were scheduled again.',
    [],
  );

  private governor: RateGovernor | undefined;
  private queueCapacity: number | undefined;
  private deadLetterSource: (() => Promise<Record<'event' | 'effect', number>>) | undefined;

  /** Publishes how many dead letters wait for an operator (`npm run dead-letters`). */
  bindDeadLetters(source: () => Promise<Record<'event' | 'effect', number>>): void {
    this.deadLetterSource = recentReading(source, DATABASE_READING);
  }

  private keysSource: (() => Promise<KeyAgeSnapshot>) | undefined;
  private lifecycleSource: (() => Promise<LifecycleSnapshot>) | undefined;

  /** Publishes the data lifecycle: pending jobs, their age, and the oldest unconfirmed record. */
  bindLifecycle(source: () => Promise<LifecycleSnapshot>): void {
    this.lifecycleSource = recentReading(source, DATABASE_READING);
  }

  constructor() {
    this.bucketGauge(
      'clickdesk_ratelimit_limit',
      "Calls the method may make per window: the contract's tier limit, or the one ClickDesk last reported.",
      (b) => b.limit,
    );
    this.bucketGauge(
      'clickdesk_ratelimit_planned_limit',
      'Calls per window the rate governor plans for at most: the limit less its planning margin.',
      (b) => b.plannedLimit,
    );
    this.bucketGauge(
      'clickdesk_ratelimit_window_seconds',
      'Length of the sliding window the limit applies to.',
      (b) => b.windowSeconds,
    );
    this.bucketGauge('clickdesk_ratelimit_remaining', 'Calls still allowed in the current window.', (b) =>
      Math.max(0, b.limit - b.used),
    );
    this.bucketGauge(
      'clickdesk_ratelimit_utilization',
      'Calls counted in the window over the limit; above 1 when ClickDesk lowers a limit under calls already made.',
      (b) => b.used / b.limit,
    );
    this.bucketGauge(
      'clickdesk_ratelimit_queued_calls',
      'Calls waiting in the rate governor for capacity.',
      (b) => b.queued,
    );
    const capacity = () => this.queueCapacity;
    new Gauge({
      name: 'clickdesk_ratelimit_queue_capacity',
      help: 'Calls of one method that may wait in the rate governor (RATE_MAX_QUEUE); beyond it calls are refused.',
      labelNames: ['method'],
      registers: [this.registry],
      collect() {
        const n = capacity();
        if (n !== undefined) for (const method of METHODS) this.set({ method }, n);
      },
    });
    // The process metrics are collected on a registry of their own, then served from this one:
    // prom-client's GC observer is never disconnected and keeps the registry it was given, so
    // given this one it would keep every collector here (and the app they read) after stop.
    const processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
    // prom-client names these gauges like counters, which `promtool check metrics` rejects;
    // the same figures remain, by type, in nodejs_active_handles / _requests / _resources.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      processMetrics.removeSingleMetric(name);
    }
    for (const { name } of processMetrics.getMetricsAsArray()) {
      const metric = processMetrics.getSingleMetric(name);
      if (metric) this.registry.registerMetric(metric);
    }
    for (const method of METHODS) {
      // Present at 0 from the start, so the first 429 is an increase an alert can see.
      this.apiRatelimited.inc({ method }, 0);
      for (const reason of ['queue_full', 'deadline']) this.rateRefused.inc({ method, reason }, 0);
    }
    const keys = async (): Promise<KeyAgeSnapshot | undefined> => this.keysSource?.();
    const keyGauge = (name: string, help: string, pick: (s: KeyAgeSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const s = await keys();
          if (s) this.set(pick(s));
        },
      });
    keyGauge(
      'clickdesk_master_key_age_seconds',
      'How long the current master key has been in use (since first seen by the database).',
      (s) => s.currentAgeSeconds,
    );
    keyGauge(
      'clickdesk_master_key_max_age_seconds',
      'MASTER_KEY_MAX_AGE_DAYS in seconds: rotate and retire the master key before its age passes this.',
      (s) => s.maxAgeSeconds,
    );
    keyGauge(
      'clickdesk_erasures_awaiting_key_retirement',
      'Erasures whose pre-erasure copies (backups, archives) stay readable until a master key is retired (layer (c) not reached).',
      (s) => s.erasuresAwaitingRetirement,
    );
    keyGauge(
      'clickdesk_erasure_oldest_awaiting_key_retirement_seconds',
      'Age of the oldest erasure still waiting for a master-key retirement (0 when none).',
      (s) => s.oldestAwaitingRetirementSeconds,
    );
    for (const reason of ['deleted_upstream', 'not_confirmed']) this.freshnessDropped.inc({ reason }, 0);
    for (const reason of ['other_app', 'unknown_team']) this.webhooksIgnored.inc({ reason }, 0);
    // The three lifecycle gauges of one scrape share one read of the database.
    const lifecycle = sharedWhilePending(
      async (): Promise<LifecycleSnapshot> =>
        (await this.lifecycleSource?.()) ?? {
          pending: 0,
          oldestPendingAgeSeconds: 0,
          oldestConfirmationAgeSeconds: 0,
        },
    );
    const gauge = (name: string, help: string, pick: (s: LifecycleSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(pick(await lifecycle()));
        },
      });
    gauge(
      'clickdesk_lifecycle_jobs_pending',
      'Data-lifecycle jobs recorded and not finished.',
      (s) => s.pending,
    );
    gauge(
      'clickdesk_lifecycle_oldest_pending_age_seconds',
      'Age of the oldest unfinished data-lifecycle job (0 when none).',
      (s) => s.oldestPendingAgeSeconds,
    );
    gauge(
      'clickdesk_data_oldest_confirmation_age_seconds',
      'Age of the stored record ClickDesk confirmed longest ago (Terms 6.1: must stay under 24 h).',
      (s) => s.oldestConfirmationAgeSeconds,
    );
    this.rtmProtocolErrors.inc(0);
    presetContractSeries(this);
    for (const kind of ['event', 'effect']) this.deadLettersCreated.inc({ kind }, 0);
    this.outboxRetries.inc(0);
    const deadLetters = async (): Promise<Record<'event' | 'effect', number>> =>
      (await this.deadLetterSource?.()) ?? { event: 0, effect: 0 };
    new Gauge({
      name: 'clickdesk_dead_letters',
      help: 'Dead letters waiting for an operator, by kind (event or effect); see npm run dead-letters.',
      labelNames: ['kind'],
      registers: [this.registry],
      async collect() {
        const counts = await deadLetters();
        for (const kind of ['event', 'effect'] as const) this.set({ kind }, counts[kind]);
      },
    });
  }

  /** Publishes master-key age and erasures still readable from copies (layer (c) not reached). */
  bindKeys(source: () => Promise<KeyAgeSnapshot>): void {
    this.keysSource = recentReading(source, DATABASE_READING);
  }

  /** Publishes the governor's buckets: limit, window, remaining, utilisation, queue and its capacity. */
  bindGovernor(governor: RateGovernor, queueCapacity?: number): void {
    this.governor = governor;
    this.queueCapacity = queueCapacity;
  }

  governorObserver(): GovernorObserver {
    return {
      waited: (method, priority, seconds) => this.rateWait.observe({ method, priority }, seconds),
      refused: (method, reason) => this.rateRefused.inc({ method, reason }),
      ratelimited: (method) => this.apiRatelimited.inc({ method }),
    };
  }

  cryptoObserver(): CryptoObserver {
    return { operation: (operation, outcome) => this.cryptoOperations.inc({ operation, outcome }) };
  }

  gatewayObserver(): GatewayObserver {
    const tally = this.envelopeTally;
    const ackLatency = this.rtmAckLatency.series({});
    return {
      connectionChanged: (open) => this.rtmConnections.set(open),
      reconnect: (reason) => this.rtmReconnects.inc({ reason }),
      envelope: (outcome) => {
        tally[outcome] += 1;
        this.lastEnvelopeAt = Date.now();
      },
      protocolError: () => this.rtmProtocolErrors.inc(),
      acked: (seconds) => ackLatency.observe(seconds),
    };
  }

  private readonly bucketSnapshot = sharedWhilePending(
    async (): Promise<BucketSnapshot[]> => (await this.governor?.snapshot()) ?? [],
  );

  private bucketGauge(name: string, help: string, pick: (b: BucketSnapshot) => number): void {
    const snapshot = this.bucketSnapshot;
    new Gauge({
      name,
      help,
      labelNames: ['method'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const b of await snapshot()) this.set({ method: b.method }, pick(b));
      },
    });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

/**
 * Calls made while an earlier call is still pending get its promise: the gauges of one scrape
 * (prom-client collects them concurrently) read their common source once.
 */
function sharedWhilePending<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending) return pending;
    const p = read().finally(() => {
      if (pending === p) pending = undefined;
    });
    pending = p;
    return p;
  };
}
