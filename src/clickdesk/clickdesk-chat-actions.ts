import type { ChatActions } from '../core/chat-actions';
import { isCodedError } from '../errors';
import { ClickDeskApiError, type ClickDeskWebApi } from './web-api-client';

/**
 * ChatActions over the Web API. A 429 that still happens is waited out (Retry-After) and
 * retried a bounded number of times; planning calls so that it does not happen is the rate
 * governor's job (Terms 4.9).
 */
export class ClickDeskChatActions implements ChatActions {
  constructor(
    private readonly api: ClickDeskWebApi,
    private readonly maxRetries = 3,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async postMessage(teamId: string, conversationId: string, text: string): Promise<void> {
    try {
      await this.withRetries(() => this.api.postMessage(teamId, conversationId, text));
    } catch (err) {
      // The channel policy dropped the message; it has been logged and counted already.
      if (isCodedError(err, 'POLICY_BLOCKED')) return;
      throw err;
    }
  }

  async transferToAgents(teamId: string, conversationId: string): Promise<void> {
    await this.withRetries(() => this.api.transferToAgents(teamId, conversationId));
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!isCodedError(err, 'CLICKDESK_RATE_LIMITED') || attempt >= this.maxRetries) throw err;
        await this.sleep(((err as ClickDeskApiError).retryAfterSeconds ?? 1) * 1000);
      }
    }
  }
}
