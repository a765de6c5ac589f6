import type { ChatActions } from '../core/chat-actions';
import { isCodedError } from '../errors';
import type { ClickDeskWebApi } from './web-api-client';

/** ChatActions over the Web API; pacing and 429 retries are the rate governor's, inside the client. */
export class ClickDeskChatActions implements ChatActions {
  constructor(private readonly api: ClickDeskWebApi) {}

  async postMessage(teamId: string, conversationId: string, text: string): Promise<void> {
    try {
      await this.api.postMessage(teamId, conversationId, text);
    } catch (err) {
      // The channel policy dropped the message; it has been logged and counted already.
      if (isCodedError(err, 'POLICY_BLOCKED')) return;
      throw err;
    }
  }

  async transferToAgents(teamId: string, conversationId: string): Promise<void> {
    await this.api.transferToAgents(teamId, conversationId);
  }
}
