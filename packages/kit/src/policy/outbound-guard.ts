import type { Logger } from 'pino';
import { CodedError } from '../errors';
import type { ChannelPolicy, PolicyRule } from './channel-policy';

export interface OutboundGuardOptions {
  policy: ChannelPolicy;
  /** `fallback` sends `fallbackText` instead of a blocked message; `drop` sends nothing. */
  onBlock: 'fallback' | 'drop';
  fallbackText: string;
  logger: Logger;
  onBlocked?: (rule: PolicyRule) => void;
}

/** Reviews the arguments of a Web API call; returns what may be sent or throws POLICY_BLOCKED. */
export type OutboundReview = (
  teamId: string | undefined,
  method: string,
  args: Record<string, unknown>,
) => Record<string, unknown>;

/**
 * Applies the channel policy to every Web API call that carries text into a conversation.
 * Blocked messages are logged by rule and conversation id, never by content.
 */
export function createOutboundGuard(opts: OutboundGuardOptions): OutboundReview {
  return (teamId, method, args) => {
    const { text, conversation_id: conversationId } = args;
    if (typeof text !== 'string') return args;
    const verdict = opts.policy.check(
      teamId ?? '',
      typeof conversationId === 'string' ? conversationId : '',
      text,
    );
    if (verdict.allowed) return args;
    opts.onBlocked?.(verdict.rule);
    opts.logger.warn(
      { method, conversationId, rule: verdict.rule, action: opts.onBlock },
      'outbound message blocked by channel policy',
    );
    if (opts.onBlock === 'drop') {
      throw new CodedError(
        'POLICY_BLOCKED',
        `message blocked by the channel policy (${verdict.rule}) and dropped`,
      );
    }
    return { ...args, text: opts.fallbackText };
  };
}
