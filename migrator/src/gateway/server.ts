/**
 * The gateway's request handlers: the S3 API (every request authenticated with SigV4 before anything else is read,
 * then routed and run on the store) and the admin port's /healthz and /metrics (service/serve.ts, as the reference
 * photo service answers them), kept on a separate port so that they need no signature and the S3 port serves S3 only.
 *
 * Every failure is S3's XML error document with its status and a request id; what went wrong inside (a store
 * failure) is logged with that id, never sent. One JSON log line per request: method, operation, status, time. The
 * request's key, query and headers are not logged (a presigned URL carries its signature in the query), nor anything
 * of the credentials.
 */
import { randomBytes } from 'crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'http';
import type { Logger } from 'pino';
import { StoreError, type PhotoStore } from '../store';
import { healthOrMetrics } from '../service/serve';
import { S3Error, s3ErrorOf } from './errors';
import { runOperation, type OperationContext } from './operations';
import { route, virtualHostBucket } from './routes';
import { errorXml } from './s3-xml';
import { queryPairs, splitUrl, verifyRequest, type AppCredentials } from './sigv4-verify';

export interface GatewayOptions {
  readonly store: PhotoStore;
  /** The app's credentials: the keys it signs with (never the gateway's own keys to the buckets). */
  readonly credentials: readonly AppCredentials[];
  /** The region the app signs for. */
  readonly region: string;
  /** Bucket names the app may address (the new bucket's, the legacy bucket's): all are the one merged view. */
  readonly buckets: readonly string[];
  /** The largest PutObject / UploadPart body, in bytes. */
  readonly maxBodyBytes: number;
  readonly log: Logger;
  /** The clock (tests). */
  readonly now?: () => Date;
}

export function s3Handler(o: GatewayOptions): RequestListener {
  const ctx: OperationContext = { store: o.store, region: o.region, maxBodyBytes: o.maxBodyBytes, log: o.log };
  return (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const started = process.hrtime.bigint();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('Server', 'bucketmove-gateway');
    let operation = 'unknown';
    const done = (status: number) =>
      o.log.info(
        {
          event: 'gateway.request',
          requestId,
          method: req.method,
          op: operation,
          status,
          ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
        },
        'request',
      );
    (async () => {
      const { path, query } = splitUrl(req.url ?? '/');
      const auth = verifyRequest(
        { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headersDistinct },
        { credentials: o.credentials, region: o.region, now: o.now?.() },
      );
      // Virtual-hosted style: the bucket is in Host, the path is the key; routed as its path-style equivalent.
      const hostBucket = virtualHostBucket(req.headers.host, o.buckets);
      const r = route(
        req.method ?? 'GET',
        hostBucket ? `/${hostBucket}${path.startsWith('/') ? path : `/${path}`}` : path,
        new Map(queryPairs(query)),
        req.headers,
      );
      operation = r.operation;
      if (!r.served)
        throw new S3Error('NotImplemented', 501, `${r.operation} is not implemented by the bucketmove gateway`);
      if (!r.bucket || !o.buckets.includes(r.bucket))
        throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
      await runOperation(ctx, { req, res, route: r, auth, bucket: r.bucket });
    })().then(
      () => done(res.statusCode),
      (err: unknown) => {
        const e = s3ErrorOf(err);
        if (e.status >= 500) {
          const s = err instanceof StoreError ? err : undefined;
          o.log.error(
            {
              event: 'gateway.error',
              requestId,
              op: operation,
              code: e.code,
              kind: s?.kind,
              side: s?.side,
              storeCode: s?.code,
              s3Status: s?.httpStatus,
              error: s?.message ?? (err as Error)?.message?.split('\n')[0],
            },
            'request failed',
          );
        }
        sendError(req, res, e, requestId);
        done(e.status);
      },
    );
  };
}

function sendError(req: IncomingMessage, res: ServerResponse, e: S3Error, requestId: string): void {
  if (res.headersSent) return void res.destroy();
  const resource = splitUrl(req.url ?? '/').path;
  const body = req.method === 'HEAD' ? '' : errorXml(e, resource, requestId);
  res.writeHead(e.status, {
    'Content-Type': 'application/xml',
    'Content-Length': String(Buffer.byteLength(body)),
    ...e.headers,
  });
  res.end(body);
  // Whatever of the request body is left unread is drained, so that a keep-alive connection stays usable.
  if (!req.complete) req.resume();
}

/**
 * What the server answers a request it cannot parse (Node's 'clientError'): S3's XML error instead of a bare 400 or
 * 431, then the connection is closed. Headers over the server's limit (Node's 16 KiB; S3 allows 8 KB of request
 * headers, "PUT request header is limited to 8 KB", Amazon S3 User Guide, "Working with object metadata") are
 * RequestHeaderSectionTooLarge.
 */
export function onClientError(log: Logger): (err: NodeJS.ErrnoException, socket: import('stream').Duplex) => void {
  return (err, socket) => {
    if (!socket.writable) return void socket.destroy();
    const e =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new S3Error(
            'RequestHeaderSectionTooLarge',
            400,
            'Your request header section exceeds the maximum allowed size.',
          )
        : new S3Error('BadRequest', 400, 'The request could not be parsed.');
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    log.info({ event: 'gateway.request', requestId, op: 'unparsed', status: e.status, code: e.code }, 'request');
    const body = errorXml(e, '', requestId);
    socket.end(
      `HTTP/1.1 ${e.status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-amz-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

/** The admin port: GET /healthz and GET /metrics, JSON. */
export function adminHandler(store: PhotoStore): RequestListener {
  return (req, res) => {
    const path = splitUrl(req.url ?? '/').path;
    const body = req.method === 'GET' ? healthOrMetrics(store, path) : undefined;
    const [status, json] = body !== undefined ? [200, body] : [404, { error: 'use GET /healthz or GET /metrics' }];
    const text = `${JSON.stringify(json)}\n`;
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-store',
    });
    res.end(text);
  };
}
