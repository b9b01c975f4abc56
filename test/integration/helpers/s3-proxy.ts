/**
 * A small HTTP proxy in front of the rig's S3 endpoint, on 127.0.0.1, for tests that need S3 to misbehave on cue:
 * answer an error (403, 503, ...), stall, drop the connection, cut a response body halfway, or hold a request until
 * the test lets it through. A rule picks the action per request; `faultRule` is the rule that spreads faults over a
 * deterministic share of all requests. Requests are forwarded byte for byte, Host header included, so SigV4
 * signatures made for the proxy's address verify.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface ProxiedRequest {
  readonly method: string;
  /**
   * Path-style: the bucket (as sent, e.g. "tenant:bucket" decoded) and the decoded key; undefined for service calls.
   */
  readonly bucket?: string;
  readonly key?: string;
  readonly query: string;
  readonly headers: http.IncomingHttpHeaders;
}

export type ProxyAction =
  | { readonly kind: 'pass' }
  /** An S3-style error answer, without forwarding (given once the request has been read). */
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly code: string;
      readonly message?: string;
      /** Told once the answer is sent: not when the client gave the request up before its body was read. */
      readonly onAnswered?: () => void;
    }
  /** Forward after a pause. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Forward once the promise settles. */
  | { readonly kind: 'hold'; readonly until: Promise<unknown> }
  /** Close the connection without an answer, once the request has been read. */
  | { readonly kind: 'drop' }
  /** Forward, then close the connection halfway through a response body of over 64 bytes (onCut is told). */
  | { readonly kind: 'cut-body'; readonly onCut?: () => void };

export type ProxyRule = (r: ProxiedRequest) => ProxyAction | undefined;

/**
 * The request that makes an object exist: a PutObject or CopyObject (a PUT that is not a part), or a
 * CompleteMultipartUpload.
 */
export function createsObject(r: ProxiedRequest): boolean {
  return (
    (r.method === 'PUT' && !/(^|&)partNumber=/.test(r.query)) || (r.method === 'POST' && /(^|&)uploadId=/.test(r.query))
  );
}

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
  const bucket =
    pathPart.length > 1 ? decodeURIComponent(slash === -1 ? pathPart.slice(1) : pathPart.slice(1, slash)) : undefined;
  const key = slash !== -1 && slash < pathPart.length - 1 ? decodeURIComponent(pathPart.slice(slash + 1)) : undefined;
  return { method: req.method ?? 'GET', bucket, key, query, headers: req.headers };
}

function answerError(
  r: ProxiedRequest,
  res: http.ServerResponse,
  action: { status: number; code: string; message?: string },
): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${action.code}</Code><Message>${action.message ?? action.code}</Message><RequestId>test-proxy</RequestId></Error>`;
  res.writeHead(action.status, {
    'Content-Type': 'application/xml',
    'Content-Length': r.method === 'HEAD' ? '0' : String(Buffer.byteLength(xml)),
  });
  res.end(r.method === 'HEAD' ? undefined : xml);
}

/** Writes the body up to half its length, then closes both connections. */
function cutHalfway(up: http.IncomingMessage, res: http.ServerResponse, length: number): void {
  const half = Math.floor(length / 2);
  let sent = 0;
  up.on('data', (chunk: Buffer) => {
    if (sent + chunk.length >= half) {
      res.write(chunk.subarray(0, Math.max(0, half - sent)));
      up.destroy();
      res.socket?.destroy();
      return;
    }
    sent += chunk.length;
    res.write(chunk);
  });
}

export async function startS3Proxy(target: string, initial?: ProxyRule): Promise<S3Proxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let rule = initial;
  const seen: ProxiedRequest[] = [];

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, onCut?: () => void) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const length = Number(up.headers['content-length'] ?? 0);
        if (onCut && length > 64) {
          onCut();
          cutHalfway(up, res, length);
          return;
        }
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
      case 'cut-body':
        return forward(req, res, action.onCut ?? (() => undefined));
      case 'drop':
        req.resume();
        req.on('end', () => req.socket.destroy());
        return;
      case 'respond':
        req.resume();
        req.on('end', () => {
          answerError(r, res, action);
          action.onAnswered?.();
        });
        return;
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

export interface FaultPlan {
  /** Every n-th request gets 503 SlowDown (0: never). */
  readonly slowDownEvery: number;
  /** Every n-th request (offset by one) has its connection dropped before the answer (0: never). */
  readonly dropEvery: number;
  /** Every n-th request (offset by two) has its connection dropped halfway through the response body (0: never). */
  readonly cutBodyEvery: number;
}

export interface FaultCounts {
  requests: number;
  /** 503 SlowDown answers sent (a request given up before its body ended gets none, and is not counted). */
  slowDowns: number;
  drops: number;
  cutBodies: number;
}

const hits = (n: number, every: number, offset: number) => every > 0 && n % every === offset % every;

/** The rule that spreads the plan's faults over all requests in a fixed order, and counts what it did. */
export function faultRule(plan: FaultPlan): { readonly rule: ProxyRule; readonly counts: FaultCounts } {
  const counts: FaultCounts = { requests: 0, slowDowns: 0, drops: 0, cutBodies: 0 };
  const rule: ProxyRule = () => {
    const n = ++counts.requests;
    if (hits(n, plan.slowDownEvery, 0)) {
      // Counted as answered: a streamed upload whose source failed (a GET cut by this proxy) is given up before its
      // body ends, and the 503 chosen for it never reaches the client, nor its pacer.
      return {
        kind: 'respond',
        status: 503,
        code: 'SlowDown',
        message: 'Please reduce your request rate.',
        onAnswered: () => counts.slowDowns++,
      };
    }
    if (hits(n, plan.dropEvery, 1)) {
      counts.drops++;
      return { kind: 'drop' };
    }
    if (hits(n, plan.cutBodyEvery, 2)) return { kind: 'cut-body', onCut: () => counts.cutBodies++ };
    return undefined;
  };
  return { rule, counts };
}
