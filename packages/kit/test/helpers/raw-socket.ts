import net from 'node:net';

/** A raw TCP client that records what the server sends and whether it closed the connection. */
export interface RawSocket {
  socket: net.Socket;
  received: () => string;
  closed: () => boolean;
}

export async function rawSocket(port: number, host = '127.0.0.1'): Promise<RawSocket> {
  const socket = net.connect(port, host);
  let data = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed: () => closed };
}
