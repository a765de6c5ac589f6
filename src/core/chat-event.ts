/**
 * The app's own model of what ClickDesk tells it. The ClickDesk adapter translates wire
 * frames into these; nothing outside `src/clickdesk/` knows the wire shape.
 */
export type SenderKind = 'visitor' | 'agent' | 'bot' | 'system';

export type ChatEvent =
  | {
      type: 'conversation_started';
      conversationId: string;
      visitor: { id: string; name: string };
      pageUrl: string;
    }
  | {
      type: 'message';
      conversationId: string;
      sender: { kind: SenderKind; id: string };
      text: string;
      ts: string;
    }
  | { type: 'conversation_ended'; conversationId: string; endedBy: string }
  | { type: 'visitor_updated'; visitorId: string }
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
