/**
 * The app's own model of what ClickDesk tells it. The ClickDesk adapter translates wire
 * frames into these; nothing outside `src/clickdesk/` knows the wire shape.
 */
/** Who wrote a message: the visitor, a human agent, a bot (this one included) or ClickDesk itself. */
export type SenderKind = 'visitor' | 'agent' | 'bot' | 'system';

/** What happened; switch on `type` and TypeScript narrows the rest. */
export type ChatEvent =
  /** A visitor opened a chat. The bot usually greets here; `visitor.name` is what they gave ClickDesk. */
  | {
      type: 'conversation_started';
      conversationId: string;
      visitor: { id: string; name: string };
      pageUrl: string;
    }
  /** Someone wrote in a conversation. Answer only `sender.kind === 'visitor'`. */
  | {
      type: 'message';
      conversationId: string;
      sender: { kind: SenderKind; id: string };
      text: string;
      /** ClickDesk's id of the message within its conversation. */
      ts: string;
      /** The `client_msg_id` its poster gave: on this bot's own echoes, the effect id it was posted with. */
      clientMsgId?: string;
    }
  /** The conversation was closed (by the visitor, an agent or ClickDesk). */
  | { type: 'conversation_ended'; conversationId: string; endedBy: string }
  /** ClickDesk changed what it knows of a visitor (e.g. their name). */
  | { type: 'visitor_updated'; visitorId: string }
  /** A human agent took the conversation: the sample bot stays quiet from here. */
  | { type: 'agent_joined'; conversationId: string; agent: { id: string; name: string } };

/** One event as delivered: at-least-once, identified by `eventId` across redeliveries. */
export interface InboundEvent {
  readonly eventId: string;
  readonly teamId: string;
  /** Unix seconds, as ClickDesk stamped it. */
  readonly eventTime: number;
  readonly event: ChatEvent;
}

export function conversationOf(event: ChatEvent): string | undefined {
  return 'conversationId' in event ? event.conversationId : undefined;
}
