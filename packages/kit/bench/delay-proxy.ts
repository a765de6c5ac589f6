import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy that holds every chunk `oneWayMs` in each direction (a database `2 × oneWayMs` of
 * round trip away, as across zones), in order, and counts the chunks the client sends: each is
 * one trip to the server, so chunks per event is the round trips an event costs. Timers fire on
 * whole milliseconds, so each hold is at least `oneWayMs`.
 */
export class DelayProxy {
  /** Chunks from clients to the server since the last reset. */
  chunksToServer = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly oneWayMs: number,
  ) {}

  static async start(target: { host: string; port: number }, oneWayMs: number): Promise<DelayProxy> {
    const server = net.createServer();
    const proxy = new DelayProxy(server, oneWayMs);
    server.on('connection', (client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.setNoDelay(true);
        s.on('error', () => undefined);
        s.on('close', () => {
          proxy.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      proxy.relay(client, upstream, true);
      proxy.relay(upstream, client, false);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private relay(from: Socket, to: Socket, toServer: boolean): void {
    const queue: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.due <= now) to.write(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.due - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (toServer) this.chunksToServer += 1;
      if (this.oneWayMs <= 0) {
        to.write(chunk);
        return;
      }
      queue.push({ due: performance.now() + this.oneWayMs, chunk });
      timer ??= setTimeout(flush, this.oneWayMs);
    });
  }
}
