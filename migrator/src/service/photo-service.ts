/**
 * The reference photo service's HTTP handler: the app's two endpoints on top of the store, plus delete, health and
 * the store's counters. Node's http module only.
 *
 *   PUT    /photos/<key>   body = the photo's bytes, Content-Type image/*      -> 201 {"key","size","etag"}
 *   GET    /photos/<key>                                                     -> 200 the bytes, or 404
 *   HEAD   /photos/<key>                                                     -> 200 headers only, or 404
 *   DELETE /photos/<key>                                                     -> 204 (also when it did not exist)
 *   GET    /healthz                                                          -> 200 {"status":"ok","mode"}
 *   GET    /metrics                                                          -> 200 the store's counters
 *
 * <key> is the S3 key, percent-encoded (slashes may stay as they are). Every error is JSON {"error": "..."} with a
 * message meant for the caller; what went wrong inside is logged, never sent.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'http';
import type { Logger } from 'pino';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import { StoreError, type PhotoInfo, type PhotoStore } from '../store';
import { healthOrMetrics, readBounded } from './serve';

export interface ServiceOptions {
  /** The largest photo accepted, in bytes. */
  readonly maxBytes: number;
  readonly log: Logger;
}

const PREFIX = '/photos/';
const IMAGE_TYPE = /^image\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function photoHandler(store: PhotoStore, o: ServiceOptions): RequestListener {
  return (req, res) => {
    handle(store, o, req, res).catch((err: unknown) => fail(o.log, req, res, err));
  };
}

async function handle(store: PhotoStore, o: ServiceOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/metrics') {
    if (req.method !== 'GET') throw new HttpError(405, `${path} answers GET only`, { Allow: 'GET' });
    return sendJson(res, 200, healthOrMetrics(store, path));
  }
  if (!path.startsWith(PREFIX)) throw new HttpError(404, 'no such endpoint: use /photos/<key>, /healthz or /metrics');
  let key: string;
  try {
    key = decodeURIComponent(path.slice(PREFIX.length));
  } catch {
    throw new HttpError(400, 'the photo key is not valid percent-encoding');
  }
  if (!key) throw new HttpError(400, 'the photo key is missing: use /photos/<key>');

  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const photo: (PhotoInfo & { body?: Readable }) | undefined =
        req.method === 'GET' ? await store.get(key) : await store.head(key);
      if (!photo) throw new HttpError(404, 'no such photo');
      res.writeHead(200, {
        'Content-Type': photo.contentType ?? 'application/octet-stream',
        ...(photo.contentLength !== undefined ? { 'Content-Length': String(photo.contentLength) } : {}),
        ...(photo.etag ? { ETag: photo.etag } : {}),
        ...(photo.lastModified ? { 'Last-Modified': photo.lastModified.toUTCString() } : {}),
        'Cache-Control': 'private, no-store',
        'X-Content-Type-Options': 'nosniff',
        // Which bucket served it: "legacy" means the read fell back (the migration has not reached this photo yet).
        'X-Photo-Source': photo.source,
      });
      if (!photo.body) return void res.end();
      try {
        await pipeline(photo.body, res);
      } catch (err) {
        // Headers are out: the only honest signal left is to cut the response short (the client sees a failed
        // transfer).
        res.destroy();
        o.log.warn(
          { event: 'service.stream_failed', key, error: describe(err) },
          'a photo stream failed after the headers were sent',
        );
      }
      return;
    }
    case 'PUT': {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (!IMAGE_TYPE.test(type)) throw new HttpError(415, 'the Content-Type must be an image type, e.g. image/jpeg');
      const body = await readBody(req, o.maxBytes);
      if (body.length === 0) throw new HttpError(400, 'the photo is empty');
      const out = await store.put(key, body, { contentType: type });
      return sendJson(res, 201, { key, size: out.size, ...(out.etag ? { etag: out.etag } : {}) });
    }
    case 'DELETE':
      await store.delete(key);
      res.writeHead(204).end();
      return;
    default:
      throw new HttpError(405, `method ${req.method} is not allowed on /photos/<key>`, {
        Allow: 'GET, HEAD, PUT, DELETE',
      });
  }
}

/** The request body, up to `max` bytes (serve.ts readBounded): past it a 413. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return readBounded(req, max, {
    tooLarge: () => tooLarge(max),
    cutShort: () => new HttpError(400, 'the upload was cut short'),
  });
}

const tooLarge = (max: number) => new HttpError(413, `the photo is larger than ${max} bytes`, { Connection: 'close' });

/** Maps a failure to a status and a message for the caller; logs what happened inside (never a stack or a key). */
function fail(log: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  let status = 500;
  let message = 'internal error';
  let headers: Record<string, string> = {};
  if (err instanceof HttpError) {
    ({ status, message, headers } = err);
  } else if (err instanceof StoreError) {
    switch (err.kind) {
      case 'invalid-key':
        [status, message] = [400, err.message];
        break;
      case 'unavailable':
        [status, message, headers] = [503, 'photo storage is unavailable; try again shortly', { 'Retry-After': '1' }];
        break;
      case 'corrupt':
      case 'too-large':
        [status, message] = [502, 'the stored photo could not be read'];
        break;
      default:
        [status, message] = [502, 'photo storage refused the request'];
    }
  }
  if (status >= 500) {
    const e = err as StoreError;
    log.error(
      {
        event: 'service.error',
        method: req.method,
        path: req.url,
        status,
        kind: e.kind,
        side: e.side,
        code: e.code,
        s3Status: e.httpStatus,
        error: describe(err),
      },
      'request failed',
    );
  }
  if (res.headersSent) return void res.destroy();
  sendJson(res, status, { error: message }, headers);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
}
