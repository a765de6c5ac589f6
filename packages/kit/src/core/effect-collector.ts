import type { Logger } from 'pino';
import { conversationOf, type InboundEvent } from './chat-event';
import type { ChatActions } from './chat-actions';
import type { HandlerContext, VisitorProfile } from './chat-handler';
import type { ConversationRecord, ProfileStore, Subject } from './conversation-store';
import { effectIdOf } from './effect-id';
import type { Completion } from './event-inbox';
import type { OutboxEffect } from './outbox';

/**
 * A handler's context for one event: ChatActions over the outbox, each call becoming an effect
 * committed with the event when the handler returns (`result`). One object per event; the
 * functions a handler takes from it are made when it takes them, so an event whose handler
 * does not act allocates none.
 */
/** What every event's context shares: made once per app, not per event. */
export interface HandlerServices {
  readonly profiles: ProfileStore;
  readonly fetch: typeof fetch;
}

export class EffectCollector implements HandlerContext, ChatActions {
  private readonly effects: OutboxEffect[] = [];
  private handover: Completion['handover'];

  constructor(
    private readonly event: InboundEvent,
    readonly conversation: ConversationRecord | undefined,
    private readonly log: () => Logger,
    private readonly services: HandlerServices,
  ) {
    this.fetch = services.fetch;
  }

  readonly fetch: typeof fetch;

  get logger(): Logger {
    return this.log();
  }

  get visitor(): () => Promise<VisitorProfile | undefined> {
    return async () => {
      const event = this.event.event;
      const id =
        event.type === 'conversation_started'
          ? event.visitor.id
          : event.type === 'message' && event.sender.kind === 'visitor'
            ? event.sender.id
            : this.conversation?.visitorId;
      if (id === undefined) return undefined;
      if (event.type === 'conversation_started') return { id, name: event.visitor.name };
      const profile = await this.services.profiles.get(this.event.teamId, { kind: 'visitor', id });
      return { id, name: profile?.name };
    };
  }

  get reply(): (text: string) => Promise<void> {
    return async (text) => this.postMessage(this.event.teamId, this.requireConversation(), text);
  }

  get transferToHuman(): () => Promise<void> {
    return async () => this.transferToAgents(this.event.teamId, this.requireConversation());
  }

  postMessage(teamId: string, conversationId: string, text: string): Promise<void> {
    this.effects.push(this.effectOf(teamId, conversationId, { kind: 'post', text }));
    return Promise.resolve();
  }

  transferToAgents(teamId: string, conversationId: string): Promise<void> {
    this.effects.push(this.effectOf(teamId, conversationId, { kind: 'transfer' }));
    this.handover = { teamId, conversationId };
    return Promise.resolve();
  }

  /** What the handler asked for, to commit with the event. */
  result(): Completion {
    return { effects: this.effects, handover: this.handover };
  }

  private requireConversation(): string {
    const conversationId = conversationOf(this.event.event);
    if (conversationId === undefined)
      throw new Error(`a ${this.event.event.type} event has no conversation to act in`);
    return conversationId;
  }

  private effectOf(teamId: string, conversationId: string, effect: OutboxEffect['effect']): OutboxEffect {
    const subject: Subject | undefined = this.conversation && {
      kind: 'visitor',
      id: this.conversation.visitorId,
    };
    return {
      effectId: effectIdOf(this.event.eventId, this.effects.length),
      eventId: this.event.eventId,
      teamId,
      conversationId,
      subject,
      effect,
    };
  }
}
