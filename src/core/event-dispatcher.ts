import type { Logger } from 'pino';
import { conversationOf, type InboundEvent } from './chat-event';
import type { ChatActions } from './chat-actions';
import type { ChatHandler, HandlerContext } from './chat-handler';
import type {
  ConversationRecord,
  ConversationStore,
  MessageStore,
  ProfileStore,
  Subject,
} from './conversation-store';
import type { EventInbox } from './event-inbox';
import { describeError } from '../errors';

export interface EventDispatcherOptions {
  inbox: EventInbox;
  conversations: ConversationStore;
  messages: MessageStore;
  profiles: ProfileStore;
  handler: ChatHandler;
  actions: ChatActions;
  logger: Logger;
  /** Sees each event once it is applied to stored state, before the handler runs. */
  onApplied?: (event: InboundEvent) => void;
  /** Seconds from an event's arrival to a reply accepted by ClickDesk, for metrics. */
  onReplied?: (seconds: number) => void;
  /** Called after each event, for metrics. */
  onHandled?: (event: InboundEvent, outcome: 'ok' | 'error', seconds: number) => void;
}

/**
 * Runs recorded events: applies them to conversation state, calls the handler, marks them
 * handled. Events of one conversation run one at a time in arrival order; conversations run
 * concurrently.
 */
export class EventDispatcher {
  private readonly lanes = new Map<string, Promise<void>>();
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: EventDispatcherOptions) {}

  get pending(): number {
    return this.inflight;
  }

  submit(event: InboundEvent): void {
    const arrived = process.hrtime.bigint();
    const key = `${event.teamId}:${conversationOf(event.event) ?? event.eventId}`;
    this.inflight += 1;
    const previous = this.lanes.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.process(event, arrived));
    this.lanes.set(key, next);
    void next.finally(() => {
      if (this.lanes.get(key) === next) this.lanes.delete(key);
      this.inflight -= 1;
      if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Re-submits events recorded before a crash but never handled. Returns how many. */
  async recover(batch = 1000): Promise<number> {
    const events = await this.opts.inbox.unhandled(batch);
    for (const event of events) this.submit(event);
    if (events.length > 0) this.opts.logger.info({ count: events.length }, 'replaying unhandled events');
    return events.length;
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

  private async process(event: InboundEvent, arrived: bigint): Promise<void> {
    const { logger, inbox, handler, onHandled } = this.opts;
    const started = process.hrtime.bigint();
    // Built on first use: most events never log, and a child logger per event is measurable garbage.
    let child: Logger | undefined;
    const log = (): Logger =>
      (child ??= logger.child({ eventId: event.eventId, eventType: event.event.type }));
    let outcome: 'ok' | 'error' = 'ok';
    try {
      const conversation = await this.apply(event);
      this.opts.onApplied?.(event);
      await handler.handle(event, this.context(event, conversation, log, arrived));
    } catch (err) {
      outcome = 'error';
      log().error({ err: describeError(err) }, 'event handler failed');
    }
    try {
      await inbox.markHandled(event.eventId);
    } catch (err) {
      log().error(
        { err: describeError(err) },
        'could not mark event handled; it will be replayed at restart',
      );
    }
    onHandled?.(event, outcome, Number(process.hrtime.bigint() - started) / 1e9);
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

  private context(
    event: InboundEvent,
    conversation: ConversationRecord | undefined,
    logger: () => Logger,
    arrived: bigint,
  ): HandlerContext {
    const { actions } = this.opts;
    const conversationId = conversationOf(event.event);
    const requireConversation = (): string => {
      if (conversationId === undefined)
        throw new Error(`a ${event.event.type} event has no conversation to act in`);
      return conversationId;
    };
    return {
      conversation,
      get logger() {
        return logger();
      },
      reply: async (text) => {
        await actions.postMessage(event.teamId, requireConversation(), text);
        this.opts.onReplied?.(Number(process.hrtime.bigint() - arrived) / 1e9);
      },
      transferToHuman: async () => {
        const id = requireConversation();
        await actions.transferToAgents(event.teamId, id);
        await this.setStatus(event.teamId, id, 'handed_over');
      },
    };
  }
}
