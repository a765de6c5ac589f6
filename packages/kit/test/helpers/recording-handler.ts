import type { InboundEvent } from '../../src/core/chat-event';
import type { ChatHandler, HandlerContext } from '../../src/core/chat-handler';

/** A handler that counts how often each event id reached it, optionally delegating. */
export class RecordingHandler implements ChatHandler {
  readonly calls = new Map<string, number>();

  /** Records every event, the bot's own echoes too; the inner handler sees them only if it asks. */
  readonly receivesOwnMessages = true;

  constructor(private readonly inner?: ChatHandler) {}

  async handle(event: InboundEvent, ctx: HandlerContext): Promise<void> {
    this.calls.set(event.eventId, (this.calls.get(event.eventId) ?? 0) + 1);
    const echo = event.event.type === 'message' && event.event.sender.kind === 'bot';
    if (!echo || this.inner?.receivesOwnMessages === true) await this.inner?.handle(event, ctx);
  }

  get handledTwice(): string[] {
    return [...this.calls].filter(([, n]) => n > 1).map(([id]) => id);
  }

  handled(eventId: string): boolean {
    return this.calls.has(eventId);
  }
}
