/**
 * A small HTTP proxy in front of the rig's S3 endpoint, on 127.0.0.1, for tests that need S3 to misbehave on cue:
 * answer an error (403, 503, ...), stall, drop the connection, or hold a request until the test lets it through.
 * Requests are forwarded byte for byte, Host header included, so SigV4 signatures made for the proxy's address verify.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface ProxiedRequest {
  readonly method: string;
  /** Path-style: the bucket (as sent, e.g. "tenant:bucket" decoded) and the decoded key; undefined for service calls. */
  readonly bucket?: string;
  readonly key?: string;
  readonly query: string;
  readonly headers: http.IncomingHttpHeaders;
}

export type ProxyAction =
  | { readonly kind: 'pass' }
  /** An S3-style error answer, without forwarding. */
  | { readonly kind: 'respond'; readonly status: number; readonly code: string; readonly message?: string }
  /** Forward after a pause. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Forward once the promise settles. */
  | { readonly kind: 'hold'; readonly until: Promise<unknown> }
  /** Close the connection without an answer. */
  | { readonly kind: 'drop' };

export type ProxyRule = (r: ProxiedRequest) => ProxyAction | undefined;

export interface S3Proxy {
  readonly url: string;
  /** Every request seen, in order. */
  readonly seen: ProxiedRequest[];
  setRule(rule: ProxyRule | undefined): void;
  close(): Promise<void>;
}

function parse(req: http.IncomingMessage): ProxiedRequest {
  const [pathPart, query = ''] = (req.url ?? '/').split('?', 2);
  const slash = pathPart.indexOf('/', 1);
  const bucket = pathPart.length > 1 ? decodeURIComponent(slash === -1 ? pathPart.slice(1) : pathPart.slice(1, slash)) : undefined;
  const key = slash !== -1 && slash < pathPart.length - 1 ? decodeURIComponent(pathPart.slice(slash + 1)) : undefined;
  return { method: req.method ?? 'GET', bucket, key, query, headers: req.headers };
}

export async function startS3Proxy(target: string, initial?: ProxyRule): Promise<S3Proxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let rule = initial;
  const seen: ProxiedRequest[] = [];

  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    const r = parse(req);
    seen.push(r);
    const action = rule?.(r) ?? { kind: 'pass' };
    switch (action.kind) {
      case 'pass':
        return forward(req, res);
      case 'delay':
        setTimeout(() => forward(req, res), action.ms);
        return;
      case 'hold':
        void action.until.finally(() => forward(req, res));
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'respond': {
        req.resume();
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${action.code}</Code><Message>${action.message ?? action.code}</Message><RequestId>test-proxy</RequestId></Error>`;
        res.writeHead(action.status, { 'Content-Type': 'application/xml', 'Content-Length': r.method === 'HEAD' ? '0' : String(Buffer.byteLength(xml)) });
        res.end(r.method === 'HEAD' ? undefined : xml);
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    setRule: (r) => {
      rule = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
