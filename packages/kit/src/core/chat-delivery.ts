/**
 * How the outbox sender reaches ClickDesk. The ClickDesk adapter implements it; the channel
 * policy and the rate governor sit behind it, in front of every call.
 */
export interface ChatDelivery {
  /**
   * Posts with an idempotency key. `beforeSend` runs once capacity is granted, right before the
   * request leaves; if it throws, nothing is sent. `blocked`: the channel policy refused it.
   */
  post(
    teamId: string,
    conversationId: string,
    text: string,
    clientMsgId: string,
    beforeSend: () => Promise<void>,
  ): Promise<'sent' | 'blocked'>;
  /** Hands the conversation to agents; a conversation already with them counts as done. */
  transfer(teamId: string, conversationId: string): Promise<void>;
  /** Whether a message with this `client_msg_id` is in the conversation, posted at or after `sinceMs`. */
  wasPosted(teamId: string, conversationId: string, clientMsgId: string, sinceMs: number): Promise<boolean>;
}
