import pg from 'pg';

/**
 * LISTEN on a connection of its own (a pooled one would be returned and reused). When it is
 * lost, `onState(false)` is called at once — notices may have been missed — and it reconnects
 * with backoff, calling `onState(true)` once listening again. Resolves once first listening.
 */
export async function listenForNotices(
  connection: pg.ClientConfig,
  channel: string,
  onMessage: (payload: string) => void,
  onState: (up: boolean) => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let backoff = 100;

  const connect = async (): Promise<void> => {
    const c = new pg.Client(connection);
    c.on('notification', (n) => {
      if (n.channel === channel) onMessage(n.payload ?? '');
    });
    const lost = () => {
      if (client !== c) return;
      client = undefined;
      onState(false);
      if (!stopped) retry = setTimeout(reconnect, backoff);
      backoff = Math.min(backoff * 2, 5_000);
    };
    c.on('error', lost);
    c.on('end', lost);
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    backoff = 100;
    onState(true);
  };
  const reconnect = () => {
    connect().catch(() => {
      if (!stopped) retry = setTimeout(reconnect, backoff);
      backoff = Math.min(backoff * 2, 5_000);
    });
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
}
