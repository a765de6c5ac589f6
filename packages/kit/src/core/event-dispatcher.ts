import type { Logger } from 'pino';
import { conversationOf, type InboundEvent } from './chat-event';
import type { ChatHandler } from './chat-handler';
import type {
  ConversationRecord,
  ConversationStore,
  MessageStore,
  ProfileStore,
  Subject,
} from './conversation-store';
import { EffectCollector, type HandlerServices } from './effect-collector';
import { jitteredBackoff } from './jittered-backoff';
import type { Completion, EventInbox } from './event-inbox';
import type { FaultPoint } from './fault-point';
import { CodedError, describeError, isCodedError } from '../errors';

const isOwnEcho = ({ event }: InboundEvent): boolean =>
  event.type === 'message' && event.sender.kind === 'bot';

/** The effect a bot's echo confirms (contract §2: the echo carries the `client_msg_id` it was posted with). */
const echoOf = ({ event, teamId }: InboundEvent): Pick<Completion, 'echoOf'> =>
  event.type === 'message' && event.sender.kind === 'bot' && event.clientMsgId !== undefined
    ? { echoOf: { teamId, effectId: event.clientMsgId } }
    : {};

const refuseFetch: typeof fetch = () =>
  Promise.reject(
    new CodedError('EGRESS_BLOCKED', 'this handler was given no fetch: no origin may be reached'),
  );

/**
 * A handler's error as the log may carry it (Terms 7): a bot's own error message can hold what the
 * visitor wrote, so it is kept at debug level only; the log says which error and where it arose.
 * The kit's own coded errors (EGRESS_BLOCKED…) say nothing of the chat and pass unchanged.
 */
function handlerFailure(err: unknown): CodedError {
  if (isCodedError(err)) return err;
  const name = err instanceof Error ? err.name : typeof err;
  const at =
    err instanceof Error
      ? err.stack
          ?.split('\n')
          .slice(1, 4)
          .map((line) => line.trim())
          .join(' < ')
      : undefined;
  return new CodedError('HANDLER_FAILED', `the bot's handler threw ${name}${at ? ` ${at}` : ''}`, {
    cause: err,
  });
}

export interface EventDispatcherOptions {
  inbox: EventInbox;
  conversations: ConversationStore;
  messages: MessageStore;
  profiles: ProfileStore;
  handler: ChatHandler;
  /** The handler's `ctx.fetch`: egress-checked (Terms 4.8.2). */
  handlerFetch?: typeof fetch;
  logger: Logger;
  /** Handler runs per event before it becomes a dead letter (each failure is retried after a backoff). */
  maxAttempts?: number;
  /** Backoff between handler attempts: `baseMs * 2^(n-1)`, jittered, at most `maxMs`. */
  retry?: { baseMs: number; maxMs: number };
  /** Sees each event once it is applied to stored state, before the handler runs. */
  onApplied?: (event: InboundEvent) => void;
  /** Effects were committed: the sender has work. */
  onEffects?: () => void;
  /** Called after each event, for metrics: `dead_letter` when it was given up. */
  onHandled?: (event: InboundEvent, outcome: 'ok' | 'retry' | 'dead_letter', seconds: number) => void;
  faultPoint?: FaultPoint;
  /**
   * Storage cannot be used right now (restart, lost connection, full disk): the event is tried
   * again once it can, without counting an attempt; the handler is not at fault.
   */
  isUnavailable?: (err: unknown) => boolean;
  /** Storage failed an event (true) or served one again (false): for readiness. */
  onStorage?: (up: boolean, err?: unknown) => void;
}

/**
 * Runs recorded events: applies them to conversation state, calls the handler, and commits its
 * effects to the outbox in the same transaction that marks the event handled (a crash before
 * that commit replays the event, which produces the same effect ids; after it, the sender
 * delivers them). A failing handler is retried with backoff, then dead-lettered, never dropped.
 * Events of one conversation run one at a time in arrival order; conversations run concurrently.
 */
export class EventDispatcher {
  /** Per conversation being processed, the events waiting behind the current one, in arrival order. */
  private readonly lanes = new Map<string, InboundEvent[]>();
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Events submitted and not done, by id: a replay of one already here is not run twice. */
  /** …with when each was submitted; in submission order, so the first is the oldest. */
  private readonly present = new Map<string, number>();
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private abandonedCount = 0;
  /** Past the stop's deadline: running events give up at their next step (storage is closing). */
  private givingUp = false;

  private readonly services: HandlerServices;

  constructor(private readonly opts: EventDispatcherOptions) {
    this.services = {
      profiles: opts.profiles,
      fetch: opts.handlerFetch ?? refuseFetch,
    };
  }

  get pending(): number {
    return this.inflight;
  }

  /**
   * How long the oldest event submitted and not yet done has waited, in ms (0: none): how far
   * handling lags what was recorded. A bot's echo settles its reply only once handled.
   */
  get lagMs(): number {
    const oldest = this.present.values().next();
    return oldest.done ? 0 : Date.now() - oldest.value;
  }

  /** Events left to the next start (or another instance) by `stop`. */
  get abandoned(): number {
    return this.abandonedCount;
  }

  submit(event: InboundEvent): void {
    // Stopping: recorded and leased, it is replayed after the restart or once its lease runs out.
    if (this.stopping || this.present.has(event.eventId)) return;
    this.present.set(event.eventId, Date.now());
    const key = `${event.teamId}:${conversationOf(event.event) ?? event.eventId}`;
    this.inflight += 1;
    const waiting = this.lanes.get(key);
    if (waiting) {
      waiting.push(event);
      return;
    }
    const lane: InboundEvent[] = [];
    this.lanes.set(key, lane);
    void this.runLane(key, event, lane);
  }

  /** Processes `first`, then the events queued behind it, one at a time; no promise per event. */
  private async runLane(key: string, first: InboundEvent, waiting: InboundEvent[]): Promise<void> {
    for (let event: InboundEvent | undefined = first; event; event = waiting.shift()) {
      try {
        await this.process(event);
      } catch (err) {
        this.opts.logger.error({ err: describeError(err) }, 'event processing failed unexpectedly');
      }
      this.present.delete(event.eventId);
      this.inflight -= 1;
      if (this.stopping) this.abandonQueued(waiting);
    }
    this.lanes.delete(key);
    if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Graceful stop: no event starts any more (those queued stay recorded and leased, for the next
   * start or another instance), and an event that fails from now on is abandoned the same way,
   * never counted as a handler failure nor dead-lettered: the stop is not the bot's fault.
   * Resolves true once the events already running are done, false if the deadline passed first.
   */
  stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.stopSignal.abort();
    for (const waiting of this.lanes.values()) this.abandonQueued(waiting);
    if (this.abandonedCount > 0)
      this.opts.logger.info({ count: this.abandonedCount }, 'stopping: queued events left for replay');
    return this.drain(timeoutMs);
  }

  /**
   * After `stop`'s deadline, before storage closes: events still running stop at their next step
   * instead of calling the handler or committing against closed storage; they stay leased.
   */
  abandonRunning(): void {
    this.stopping = true;
    this.givingUp = true;
  }

  private abandonQueued(waiting: InboundEvent[]): void {
    for (const event of waiting.splice(0)) {
      this.present.delete(event.eventId);
      this.inflight -= 1;
      this.abandonedCount += 1;
    }
    if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Waits `ms`, or less if the dispatcher stops meanwhile. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopSignal.signal.addEventListener('abort', done);
    });
  }

  /**
   * Re-submits events recorded but not being handled (a crashed instance's, or this one's
   * before a restart), in batches until none are left or `maxPending` are queued here; pacing
   * is the rate governor's, downstream. Returns how many.
   */
  async recover(batch = 500, maxPending = 5_000): Promise<number> {
    let total = 0;
    while (this.inflight < maxPending) {
      const events = await this.opts.inbox.unhandled(Math.min(batch, maxPending - this.inflight));
      const before = this.inflight;
      for (const event of events) this.submit(event);
      // Events already here come back while this instance takes its own leases back: not new.
      const fresh = this.inflight - before;
      total += fresh;
      if (fresh === 0) break;
    }
    if (total > 0) this.opts.logger.info({ count: total }, 'replaying unhandled events');
    return total;
  }

  /** Resolves true once every submitted event is done, false if the deadline passed first. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async process(event: InboundEvent): Promise<void> {
    const { logger, inbox, handler, onHandled } = this.opts;
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const retry = this.opts.retry ?? { baseMs: 200, maxMs: 30_000 };
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    // Built on first use: most events never log, and a child logger per event is measurable garbage.
    let child: Logger | undefined;
    const log = (): Logger =>
      (child ??= logger.child({ eventId: event.eventId, eventType: event.event.type }));
    let outage = 0;
    for (let local = 1; ; local++) {
      if (this.stopping && (local > 1 || outage > 0)) {
        this.abandonedCount += 1;
        return;
      }
      try {
        const conversation = await this.apply(event);
        if (this.givingUp) throw new Error('stopping');
        this.opts.onApplied?.(event);
        const completion = new EffectCollector(event, conversation, log, this.services);
        // The bot's own messages come back as events; a handler sees them only if it asks.
        if (handler.receivesOwnMessages === true || !isOwnEcho(event)) {
          try {
            await handler.handle(event, completion);
          } catch (err) {
            throw handlerFailure(err);
          }
        }
        this.opts.faultPoint?.('during-handler');
        if (this.givingUp) throw new Error('stopping');
        const outcome = await inbox.complete(event.eventId, { ...completion.result(), ...echoOf(event) });
        this.opts.faultPoint?.('after-outbox-commit');
        if (outcome === 'lost') {
          log().warn('another instance took this event over; its effects are theirs to commit');
        } else {
          const { handover, effects } = completion.result();
          // The commit applied it already where storage is shared; this keeps a memory store in step.
          if (handover) await this.setStatus(handover.teamId, handover.conversationId, 'handed_over');
          if (effects.length > 0) this.opts.onEffects?.();
        }
        onHandled?.(event, 'ok', seconds());
        if (outage > 0) this.opts.onStorage?.(true);
        return;
      } catch (err) {
        if (this.stopping) {
          // Failed while stopping (often because storage is closing): left for replay, not counted.
          log().debug({ err: describeError(err) }, 'stopping: event abandoned for replay');
          this.abandonedCount += 1;
          return;
        }
        if (this.opts.isUnavailable?.(err)) {
          // Weather, not the handler: the same event again once storage answers (its lease is
          // renewed meanwhile, as for any event held here).
          outage += 1;
          local -= 1;
          this.opts.onStorage?.(false, err);
          if (outage === 1)
            log().warn({ err: describeError(err) }, 'storage unavailable; the event waits for it');
          await this.pause(jitteredBackoff(outage, { baseMs: 250, maxMs: 5_000 }));
          continue;
        }
        const error = describeError(err);
        // A bot's error is stored by its class name (Error, TypeError…), never by its message.
        let reason = error.code;
        if (isCodedError(err, 'HANDLER_FAILED') && err.cause instanceof Error) {
          reason = err.cause.name;
          log().debug(
            { message: err.cause.message },
            "the handler's error message (debug only: it may carry chat Data)",
          );
        }
        let attempts = local;
        try {
          attempts = await inbox.failed(event.eventId, reason);
        } catch {
          // Storage is failing too: count this process's attempts.
        }
        if (attempts >= maxAttempts) {
          log().error({ err: error, attempts }, 'event handler kept failing; event dead-lettered');
          try {
            await inbox.deadLetter(event.eventId, `handler_failed:${reason}`);
          } catch (deadErr) {
            log().error(
              { err: describeError(deadErr) },
              'could not dead-letter the event; it will be replayed once its lease runs out',
            );
          }
          onHandled?.(event, 'dead_letter', seconds());
          return;
        }
        log().warn({ err: error, attempts }, 'event handler failed; retrying');
        onHandled?.(event, 'retry', seconds());
        await this.pause(jitteredBackoff(attempts, retry));
      }
    }
  }

  /** Applies the event to stored state and returns the conversation as it now stands. */
  private async apply(inbound: InboundEvent): Promise<ConversationRecord | undefined> {
    const { conversations, messages, profiles } = this.opts;
    const { event, teamId } = inbound;
    switch (event.type) {
      case 'conversation_started': {
        await profiles.put(teamId, { kind: 'visitor', id: event.visitor.id }, { name: event.visitor.name });
        const record: ConversationRecord = {
          teamId,
          conversationId: event.conversationId,
          visitorId: event.visitor.id,
          status: 'bot',
          startedAt: inbound.eventTime,
        };
        await conversations.put(record);
        return record;
      }
      case 'message': {
        const conversation = await conversations.get(teamId, event.conversationId);
        const { kind, id } = event.sender;
        const subject: Subject | undefined =
          kind === 'visitor' || kind === 'agent'
            ? { kind, id }
            : conversation && { kind: 'visitor', id: conversation.visitorId };
        // Stored already if the inbox stored it with the event (once, in the event's commit).
        if (this.opts.inbox.messageStoredWith?.(inbound) !== messages)
          await messages.append({
            teamId,
            conversationId: event.conversationId,
            eventId: inbound.eventId,
            subject,
            sender: event.sender,
            text: event.text,
            ts: event.ts,
          });
        return conversation;
      }
      case 'agent_joined':
        await profiles.put(teamId, { kind: 'agent', id: event.agent.id }, { name: event.agent.name });
        return this.setStatus(teamId, event.conversationId, 'agent');
      case 'conversation_ended':
        return this.setStatus(teamId, event.conversationId, 'closed');
      case 'visitor_updated':
        return undefined;
    }
  }

  private async setStatus(
    teamId: string,
    conversationId: string,
    status: ConversationRecord['status'],
  ): Promise<ConversationRecord | undefined> {
    const current = await this.opts.conversations.get(teamId, conversationId);
    if (!current) return undefined;
    const updated = { ...current, status };
    await this.opts.conversations.put(updated);
    return updated;
  }
}
