import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that reads what clients send: the SQL of each simple query
 * ('Q') and each parsed statement ('P'), in order, and the round trips, counted as the times a
 * client sent after the server's last answer reached it. Answers are held `delayMs` on the way
 * back, so everything a client sends before hearing one counts as one flight.
 */
export class PgWireRecorder {
  readonly statements: string[] = [];
  flights = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }, delayMs = 20): Promise<PgWireRecorder> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const recorder = new PgWireRecorder(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => recorder.relay(client, target, delayMs));
    return recorder;
  }

  /** Forgets what was recorded (after the pool's connections are open). */
  reset(): void {
    this.statements.length = 0;
    this.flights = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: net.Socket, target: { host: string; port: number }, delayMs: number): void {
    const upstream = net.connect(target.port, target.host);
    this.sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    let started = false;
    let heard = true;
    client.on('data', (chunk) => {
      if (heard) this.flights += 1;
      heard = false;
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      // The startup message has no type byte; every later message is type, int32 length, body.
      for (;;) {
        const head = started ? 1 : 0;
        if (pending.length < head + 4) break;
        const end = head + pending.readInt32BE(head);
        if (pending.length < end) break;
        const type = started ? String.fromCharCode(pending[0]!) : '';
        const body = pending.subarray(head + 4, end);
        if (type === 'Q') this.statements.push(body.toString('utf8', 0, body.indexOf(0)));
        if (type === 'P') {
          const at = body.indexOf(0) + 1;
          this.statements.push(body.toString('utf8', at, body.indexOf(0, at)));
        }
        started = true;
        pending = pending.subarray(end);
      }
    });
    upstream.on('data', (chunk) =>
      setTimeout(() => {
        heard = true;
        if (!client.destroyed) client.write(chunk);
      }, delayMs),
    );
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
