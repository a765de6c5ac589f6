import { z } from 'zod';
import type { ChatEvent, InboundEvent } from '../core/chat-event';
import { TEAM_ID_PATTERN } from '../core/team-id';
import { readEnvelopeFast } from './fast-envelope';

/**
 * The RTM wire format (docs/clickdesk-contract.md §2) and its translation into the app's
 * model. A frame that does not fit is a protocol error for the caller to count and drop.
 */
export const DISCONNECT_REASONS = [
  'warning',
  'refresh_requested',
  'link_disabled',
  'too_many_websockets',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

const id = z.string().min(1).max(200);

const helloFrame = z.object({
  type: z.literal('hello'),
  num_connections: z.number().int().nonnegative().optional(),
  connection_info: z.object({ app_id: id }).optional(),
});

const disconnectFrame = z.object({ type: z.literal('disconnect'), reason: z.enum(DISCONNECT_REASONS) });

const eventBody = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('conversation_started'),
    conversation_id: id,
    visitor: z.object({ id, name: z.string().max(500) }),
    page_url: z.string().max(4000).default(''),
  }),
  z.object({
    type: z.literal('message'),
    conversation_id: id,
    sender: z.object({ kind: z.enum(['visitor', 'agent', 'bot', 'system']), id }),
    text: z.string().max(40_000),
    ts: z.union([z.string(), z.number()]).transform(String),
    client_msg_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
  }),
  z.object({ type: z.literal('conversation_ended'), conversation_id: id, ended_by: z.string().max(200) }),
  z.object({ type: z.literal('visitor_updated'), visitor_id: id }),
  z.object({
    type: z.literal('agent_joined'),
    conversation_id: id,
    agent: z.object({ id, name: z.string().max(500) }),
  }),
]);

const envelopeFrame = z.object({
  envelope_id: id,
  type: z.literal('events_api'),
  retry_attempt: z.number().int().nonnegative().default(0),
  retry_reason: z.string().default(''),
  payload: z.object({
    type: z.literal('event_callback'),
    team_id: z.string().regex(TEAM_ID_PATTERN),
    api_app_id: id.optional(),
    event_id: id,
    event_time: z.number(),
    event: z.looseObject({ type: z.string() }),
  }),
});

export type Frame =
  | { kind: 'hello'; appId: string | undefined }
  | { kind: 'disconnect'; reason: DisconnectReason }
  | {
      kind: 'envelope';
      envelopeId: string;
      retryAttempt: number;
      /** Undefined for event types this app does not model: acknowledge and drop them. */
      event: InboundEvent | undefined;
      eventType: string;
    }
  | { kind: 'invalid'; problem: string };

/** Parses one text frame. Never throws. */
export function parseFrame(data: string): Frame {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { kind: 'invalid', problem: 'not JSON' };
  }
  return frameFromJson(json);
}

/** Reads a parsed frame; `schemasOnly` skips the fast path (tests compare the two). Never throws. */
export function frameFromJson(json: unknown, schemasOnly = false): Frame {
  if (typeof json !== 'object' || json === null) return { kind: 'invalid', problem: 'not an object' };
  const type = (json as { type?: unknown }).type;
  if (type === 'hello') {
    const hello = helloFrame.safeParse(json);
    return hello.success
      ? { kind: 'hello', appId: hello.data.connection_info?.app_id }
      : invalid(hello.error);
  }
  if (type === 'disconnect') {
    const notice = disconnectFrame.safeParse(json);
    return notice.success ? { kind: 'disconnect', reason: notice.data.reason } : invalid(notice.error);
  }
  const fast = schemasOnly ? undefined : readEnvelopeFast(json as Record<string, unknown>);
  if (fast) return fast;
  const envelope = envelopeFrame.safeParse(json);
  if (!envelope.success) return invalid(envelope.error);
  const { payload } = envelope.data;
  const body = eventBody.safeParse(payload.event);
  const known = ['conversation_started', 'message', 'conversation_ended', 'visitor_updated', 'agent_joined'];
  if (!body.success && known.includes(payload.event.type)) return invalid(body.error);
  return {
    kind: 'envelope',
    envelopeId: envelope.data.envelope_id,
    retryAttempt: envelope.data.retry_attempt,
    eventType: payload.event.type,
    event: body.success
      ? {
          eventId: payload.event_id,
          teamId: payload.team_id,
          eventTime: payload.event_time,
          event: toChatEvent(body.data),
        }
      : undefined,
  };
}

function invalid(error: z.ZodError): Frame {
  const first = error.issues[0];
  return {
    kind: 'invalid',
    problem: first ? `${first.path.join('.') || 'frame'}: ${first.message}` : 'invalid frame',
  };
}

function toChatEvent(e: z.infer<typeof eventBody>): ChatEvent {
  switch (e.type) {
    case 'conversation_started':
      return { type: e.type, conversationId: e.conversation_id, visitor: e.visitor, pageUrl: e.page_url };
    case 'message':
      return {
        type: e.type,
        conversationId: e.conversation_id,
        sender: e.sender,
        text: e.text,
        ts: e.ts,
        ...(e.client_msg_id !== undefined && { clientMsgId: e.client_msg_id }),
      };
    case 'conversation_ended':
      return { type: e.type, conversationId: e.conversation_id, endedBy: e.ended_by };
    case 'visitor_updated':
      return { type: e.type, visitorId: e.visitor_id };
    case 'agent_joined':
      return { type: e.type, conversationId: e.conversation_id, agent: e.agent };
  }
}
