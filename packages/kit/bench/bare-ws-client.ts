import WebSocket from 'ws';
import type { ClickDeskCredentials } from '../src/app';

/**
 * The baseline: the least a client can do, which is open RTM links and acknowledge every
 * envelope on arrival (no validation, no recording, no handling).
 */
export async function connectBareClient(
  credentials: ClickDeskCredentials,
  connections: number,
): Promise<() => void> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < connections; i++) {
    const res = await fetch(new URL('apps.connections.open', credentials.apiUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${credentials.appToken}` },
    });
    const { url } = (await res.json()) as { url: string };
    const ws = new WebSocket(url);
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as { envelope_id?: string };
      if (frame.envelope_id) ws.send(JSON.stringify({ envelope_id: frame.envelope_id }));
    });
    await new Promise((resolve) => ws.once('message', resolve));
    sockets.push(ws);
  }
  return () => sockets.forEach((s) => s.close());
}
