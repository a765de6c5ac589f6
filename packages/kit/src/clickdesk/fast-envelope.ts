import type { ChatEvent, InboundEvent, SenderKind } from '../core/chat-event';
import { isAddressableTeamId } from '../core/team-id';

/** An envelope read without zod: the same fields as `envelopeFrame` + `eventBody` in wire.ts. */
export interface FastEnvelope {
  kind: 'envelope';
  envelopeId: string;
  retryAttempt: number;
  eventType: string;
  event: InboundEvent;
}

type Json = Record<string, unknown>;

const SENDER_KINDS: ReadonlySet<string> = new Set(['visitor', 'agent', 'bot', 'system']);

/**
 * The hot path of `parseFrame`: reads a well-formed envelope of a modelled event type with
 * plain checks, a strict subset of what the zod schemas in wire.ts accept, giving the same
 * result. Anything else (unmodelled types, defaults that zod would fill in differently,
 * anything malformed) returns undefined, and the zod schemas decide and name the problem.
 */
export function readEnvelopeFast(json: Json): FastEnvelope | undefined {
  const envelopeId = json.envelope_id;
  if (!isId(envelopeId) || json.type !== 'events_api') return undefined;
  const retry = json.retry_attempt === undefined ? 0 : json.retry_attempt;
  if (typeof retry !== 'number' || !Number.isInteger(retry) || retry < 0) return undefined;
  if (json.retry_reason !== undefined && typeof json.retry_reason !== 'string') return undefined;
  const payload = json.payload;
  if (!isObject(payload) || payload.type !== 'event_callback') return undefined;
  const { team_id: teamId, event_id: eventId, event_time: eventTime, api_app_id: appId } = payload;
  if (!isAddressableTeamId(teamId) || !isId(eventId) || typeof eventTime !== 'number') return undefined;
  if (appId !== undefined && !isId(appId)) return undefined;
  const body = payload.event;
  if (!isObject(body) || typeof body.type !== 'string') return undefined;
  const event = readEvent(body);
  if (!event) return undefined;
  return {
    kind: 'envelope',
    envelopeId,
    retryAttempt: retry,
    eventType: body.type,
    event: { eventId, teamId, eventTime, event },
  };
}

/** Contract §1: 1–64 characters of A-Z a-z 0-9 _ -. */
const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;

function readEvent(e: Json): ChatEvent | undefined {
  switch (e.type) {
    case 'message': {
      const { conversation_id: conversationId, sender, text, ts, client_msg_id: clientMsgId } = e;
      if (!isId(conversationId) || !isObject(sender) || typeof text !== 'string' || text.length > 40_000)
        return undefined;
      const { kind, id } = sender;
      if (typeof kind !== 'string' || !SENDER_KINDS.has(kind) || !isId(id)) return undefined;
      if (typeof ts !== 'string' && typeof ts !== 'number') return undefined;
      if (clientMsgId !== undefined && !(typeof clientMsgId === 'string' && CLIENT_MSG_ID.test(clientMsgId)))
        return undefined;
      return {
        type: 'message',
        conversationId,
        sender: { kind: kind as SenderKind, id },
        text,
        ts: String(ts),
        ...(clientMsgId !== undefined && { clientMsgId }),
      };
    }
    case 'conversation_started': {
      const { conversation_id: conversationId, visitor, page_url: pageUrl } = e;
      if (!isId(conversationId) || !isObject(visitor) || typeof pageUrl !== 'string' || pageUrl.length > 4000)
        return undefined;
      const { id, name } = visitor;
      if (!isId(id) || typeof name !== 'string' || name.length > 500) return undefined;
      return { type: 'conversation_started', conversationId, visitor: { id, name }, pageUrl };
    }
    case 'conversation_ended': {
      const { conversation_id: conversationId, ended_by: endedBy } = e;
      if (!isId(conversationId) || typeof endedBy !== 'string' || endedBy.length > 200) return undefined;
      return { type: 'conversation_ended', conversationId, endedBy };
    }
    case 'visitor_updated':
      return isId(e.visitor_id) ? { type: 'visitor_updated', visitorId: e.visitor_id } : undefined;
    case 'agent_joined': {
      const { conversation_id: conversationId, agent } = e;
      if (!isId(conversationId) || !isObject(agent)) return undefined;
      const { id, name } = agent;
      if (!isId(id) || typeof name !== 'string' || name.length > 500) return undefined;
      return { type: 'agent_joined', conversationId, agent: { id, name } };
    }
    default:
      return undefined;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 200;
}
