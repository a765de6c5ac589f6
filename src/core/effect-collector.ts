import type { Logger } from 'pino';
import { conversationOf, type InboundEvent } from './chat-event';
import type { HandlerContext } from './chat-handler';
import type { ConversationRecord, Subject } from './conversation-store';
import { effectIdOf } from './effect-id';
import type { Completion } from './event-inbox';
import type { OutboxEffect } from './outbox';

/**
 * The context a handler gets for one event: its actions become effects, committed with the event
 * when the handler returns (`completion`). A class, not an object literal with a getter and
 * closures: built per event, that literal left about 1 KB per event in V8's old space (hidden
 * classes and their descriptors, which V8 allocates there), filling it with garbage under a flood.
 */
export class EffectCollector implements HandlerContext {
  private readonly effects: OutboxEffect[] = [];
  private handover: Completion['handover'];
  private child: Logger | undefined;

  constructor(
    private readonly event: InboundEvent,
    readonly conversation: ConversationRecord | undefined,
    private readonly parentLogger: Logger,
  ) {}

  /** Built on first use: most events never log, and a child logger per event is measurable garbage. */
  get logger(): Logger {
    return (this.child ??= this.parentLogger.child({
      eventId: this.event.eventId,
      eventType: this.event.event.type,
    }));
  }

  get completion(): Completion {
    return { effects: this.effects, handover: this.handover };
  }

  // A promise that rejects (never a throw) when the event has no conversation to act in.
  reply(text: string): Promise<void> {
    return new Promise((resolve) => {
      this.add({ kind: 'post', text });
      resolve();
    });
  }

  transferToHuman(): Promise<void> {
    return new Promise((resolve) => {
      const conversationId = this.add({ kind: 'transfer' });
      this.handover = { teamId: this.event.teamId, conversationId };
      resolve();
    });
  }

  /** Records the effect; returns the conversation it acts in. */
  private add(effect: OutboxEffect['effect']): string {
    const { eventId, teamId } = this.event;
    const conversationId = this.conversationId();
    const subject: Subject | undefined = this.conversation && {
      kind: 'visitor',
      id: this.conversation.visitorId,
    };
    this.effects.push({
      effectId: effectIdOf(eventId, this.effects.length),
      eventId,
      teamId,
      conversationId,
      subject,
      effect,
    });
    return conversationId;
  }

  private conversationId(): string {
    const id = conversationOf(this.event.event);
    if (id === undefined) throw new Error(`a ${this.event.event.type} event has no conversation to act in`);
    return id;
  }
}
