// The text of the RTM frames the hub writes (hello, events_api envelopes) and reads (acks).
import type WebSocket from 'ws';

export function helloFrame(appId: string, connections: number): Record<string, unknown> {
  return {
    type: 'hello',
    num_connections: connections,
    connection_info: { app_id: appId },
    debug_info: { approximate_connection_time: 3600 },
  };
}

/**
 * An envelope's `payload`: what JSON.stringify gives for { type: 'event_callback', team_id,
 * api_app_id, event_id, event_time, event }.
 */
export function eventPayloadJson(
  appId: string,
  e: { teamId: string; eventId: string; eventTime: number; event: unknown },
): string {
  return (
    `{"type":"event_callback","team_id":${JSON.stringify(e.teamId)},` +
    `"api_app_id":${JSON.stringify(appId)},"event_id":"${e.eventId}",` +
    `"event_time":${e.eventTime},"event":${JSON.stringify(e.event)}}`
  );
}

/**
 * The frame JSON.stringify would give for { envelope_id, type, accepts_response_payload,
 * retry_attempt, retry_reason, payload }, with the payload already serialized (once per event).
 */
export function envelopeFrame(envelopeId: string, attempt: number, payloadJson: string): string {
  return (
    `{"envelope_id":"${envelopeId}","type":"events_api","accepts_response_payload":false,` +
    `"retry_attempt":${attempt},"retry_reason":"${attempt > 0 ? 'timeout' : ''}",` +
    `"payload":${payloadJson}}`
  );
}

const ACK_PREFIX = '{"envelope_id":"';

/**
 * The `envelope_id` of a client frame (null for a binary one), of any type; undefined when the
 * frame is not JSON. A plain ack of an id `isKnown` accepts is read without parsing.
 */
export function envelopeIdOf(text: string | null, isKnown: (id: string) => boolean): unknown {
  if (text !== null && isPlainAck(text)) {
    // One of the hub's ids (UUIDs) between the quotes: the frame is the JSON of that id.
    const id = text.slice(ACK_PREFIX.length, -2);
    if (isKnown(id)) return id;
  }
  try {
    return text === null ? undefined : (JSON.parse(text) as { envelope_id?: unknown }).envelope_id;
  } catch {
    return undefined;
  }
}

/** Shaped as JSON.stringify({ envelope_id }) writes an id that needs no escaping. */
function isPlainAck(text: string): boolean {
  return (
    text.length > ACK_PREFIX.length + 2 &&
    text.startsWith(ACK_PREFIX) &&
    text.endsWith('"}') &&
    text.indexOf('"', ACK_PREFIX.length) === text.length - 2 &&
    !text.includes('\\')
  );
}

export function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
