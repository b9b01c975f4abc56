/**
 * A small fault-injecting HTTP proxy in front of the S3 endpoint, on 127.0.0.1: a deterministic share of requests is
 * answered 503 SlowDown, and another share has its connection dropped (before any answer, or halfway through the
 * response body). Everything else passes through untouched (SigV4 still verifies: the Host header is kept).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FaultPlan {
  /** Every n-th request gets 503 SlowDown (0: never). */
  readonly slowDownEvery: number;
  /** Every n-th request (offset by one) has its connection dropped before the answer (0: never). */
  readonly dropEvery: number;
  /** Every n-th request (offset by two) has its connection dropped halfway through the response body (0: never). */
  readonly cutBodyEvery: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly counts: { requests: number; slowDowns: number; drops: number; cutBodies: number };
  close(): Promise<void>;
}

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

const hits = (n: number, every: number, offset: number) => every > 0 && n % every === offset % every;

export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counts = { requests: 0, slowDowns: 0, drops: 0, cutBodies: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const n = ++counts.requests;
    if (hits(n, plan.slowDownEvery, 0)) {
      counts.slowDowns++;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(SLOW_DOWN) });
        res.end(SLOW_DOWN);
      });
      return;
    }
    if (hits(n, plan.dropEvery, 1)) {
      counts.drops++;
      req.resume();
      req.on('end', () => req.socket.destroy());
      return;
    }
    const cut = hits(n, plan.cutBodyEvery, 2);
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const length = Number(up.headers['content-length'] ?? 0);
        if (cut && length > 64) {
          counts.cutBodies++;
          let sent = 0;
          up.on('data', (chunk: Buffer) => {
            if (sent + chunk.length >= length / 2) {
              res.write(chunk.subarray(0, Math.max(0, Math.floor(length / 2) - sent)));
              up.destroy();
              res.socket?.destroy();
              return;
            }
            sent += chunk.length;
            res.write(chunk);
          });
          return;
        }
        up.pipe(res);
      },
    );
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
