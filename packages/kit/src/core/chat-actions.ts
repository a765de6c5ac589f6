/**
 * What a handler may do in ClickDesk. The dispatcher implements it over the outbox: each call
 * becomes an effect committed with the event (see event-inbox.ts) and delivered afterwards by
 * the sender, through the channel policy and the rate governor.
 */
export interface ChatActions {
  postMessage(teamId: string, conversationId: string, text: string): Promise<void>;
  transferToAgents(teamId: string, conversationId: string): Promise<void>;
}
