import http from 'node:http';

/** One HTTP request with full control of the headers (Host included), answered as status and text. */
export function httpCall(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Source address of the connection, e.g. this machine's own non-loopback address. */
    localAddress?: string;
  } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
