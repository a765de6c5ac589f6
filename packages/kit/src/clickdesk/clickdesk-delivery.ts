import type { ChatDelivery } from '../core/chat-delivery';
import { isCodedError } from '../errors';
import type { ClickDeskWebApi } from './web-api-client';

/** Outbox delivery over the Web API; the channel policy and the rate governor are inside the client. */
export class ClickDeskDelivery implements ChatDelivery {
  constructor(private readonly api: ClickDeskWebApi) {}

  async post(
    teamId: string,
    conversationId: string,
    text: string,
    clientMsgId: string,
    beforeSend: () => Promise<void>,
  ): Promise<'sent' | 'blocked'> {
    try {
      await this.api.postMessage(teamId, conversationId, text, { clientMsgId, beforeSend });
      return 'sent';
    } catch (err) {
      // The channel policy dropped the message; it has been logged and counted already.
      if (isCodedError(err, 'POLICY_BLOCKED')) return 'blocked';
      throw err;
    }
  }

  async transfer(teamId: string, conversationId: string): Promise<void> {
    // Contract §1: a conversation already with the agents answers ok with `already_transferred`.
    await this.api.transferToAgents(teamId, conversationId);
  }

  async wasPosted(
    teamId: string,
    conversationId: string,
    clientMsgId: string,
    sinceMs: number,
  ): Promise<boolean> {
    const messages = await this.api.history(teamId, conversationId, { oldestMs: sinceMs, limit: 200 });
    return messages.some((m) => m.client_msg_id === clientMsgId);
  }
}
