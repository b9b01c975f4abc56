/**
 * The operations the gateway serves, each on the store (migrator/src/store) and so under the store's mode: reads
 * fall back to legacy on NoSuchKey only and decrypt on the way out, writes go where the mode writes, deletes leave
 * the mode's tombstones, every fallback hit is counted and logged by the store. Shapes follow the Amazon S3 API
 * Reference page of each operation.
 *
 * GetObject: Range (one range, bytes=a-b | a- | -n; 416 InvalidRange when unsatisfiable; the whole object when the
 * size is unknown, as RFC 9110 lets a server ignore Range), If-Match / If-None-Match / If-Modified-Since /
 * If-Unmodified-Since evaluated as RFC 9110 section 13.2.2 orders them (412 PreconditionFailed, 304 Not Modified),
 * response-* query overrides of presigned URLs. The range is cut from the store's stream (a fallback read is
 * decrypted whole anyway; a new-bucket read is read from the start).
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { Transform, type Readable } from 'stream';
import { pipeline } from 'stream/promises';
import type { Logger } from 'pino';
import { nextStartAfter, type PhotoInfo, type PhotoStore, type PutOptions } from '../store';
import { checkedBody, readRaw } from './body';
import { invalidArgument, invalidRequest, notImplemented, S3Error, s3ErrorOf } from './errors';
import type { Route } from './routes';
import {
  completeMultipartXml,
  deleteResultXml,
  initiateMultipartXml,
  listV1Xml,
  listV2Xml,
  locationXml,
  parseComplete,
  parseDelete,
  type DeleteOutcome,
} from './s3-xml';
import type { Verified } from './sigv4-verify';

export interface OperationContext {
  readonly store: PhotoStore;
  readonly region: string;
  /** The largest body accepted (PutObject, UploadPart). */
  readonly maxBodyBytes: number;
  readonly log: Logger;
}

export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly auth: Verified;
  readonly bucket: string;
}

const XML = { 'Content-Type': 'application/xml' };

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { ...XML, 'Content-Length': String(Buffer.byteLength(xml)) });
  res.end(xml);
}

const h = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

function requireKey(c: Call): string {
  if (c.route.key === undefined) throw invalidRequest(`${c.route.operation} needs an object key`);
  return c.route.key;
}

/** The operation, run. */
export async function runOperation(ctx: OperationContext, c: Call): Promise<void> {
  switch (c.route.operation) {
    case 'GetObject':
    case 'HeadObject':
      return getOrHead(ctx, c);
    case 'PutObject':
      return putObject(ctx, c);
    case 'DeleteObject':
      await ctx.store.delete(requireKey(c));
      c.res.writeHead(204).end();
      return;
    case 'DeleteObjects':
      return deleteObjects(ctx, c);
    case 'ListObjectsV2':
      return listObjectsV2(ctx, c);
    case 'ListObjects':
      return listObjectsV1(ctx, c);
    case 'CreateMultipartUpload': {
      const key = requireKey(c);
      const uploadId = await ctx.store.createMultipart(key, putOptions(c.req));
      return sendXml(c.res, 200, initiateMultipartXml(c.bucket, key, uploadId));
    }
    case 'UploadPart': {
      const key = requireKey(c);
      const n = Number(c.route.query.get('partNumber'));
      if (!Number.isInteger(n) || n < 1 || n > 10000)
        throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive');
      const body = checkedBody(c.req, await readRaw(c.req, ctx.maxBodyBytes), c.auth);
      const etag = await ctx.store.uploadPart(key, c.route.query.get('uploadId')!, n, body);
      c.res.writeHead(200, etag ? { ETag: etag } : {}).end();
      return;
    }
    case 'CompleteMultipartUpload': {
      const key = requireKey(c);
      const parts = parseComplete(checkedBody(c.req, await readRaw(c.req, 1024 * 1024), c.auth).toString('utf8'));
      const out = await ctx.store.completeMultipart(key, c.route.query.get('uploadId')!, parts);
      return sendXml(c.res, 200, completeMultipartXml(`/${c.bucket}/${key}`, c.bucket, key, out.etag));
    }
    case 'AbortMultipartUpload':
      await ctx.store.abortMultipart(requireKey(c), c.route.query.get('uploadId')!);
      c.res.writeHead(204).end();
      return;
    case 'HeadBucket':
      c.res.writeHead(200, { 'x-amz-bucket-region': ctx.region }).end();
      return;
    case 'GetBucketLocation':
      return sendXml(c.res, 200, locationXml(ctx.region));
    default:
      throw notImplemented(c.route.operation);
  }
}

/**
 * S3's limit on user metadata: 2 KB, names and values in UTF-8 (Amazon S3 User Guide, "Working with object metadata").
 */
export const MAX_METADATA_BYTES = 2048;

/**
 * What an app may set on a PUT: Content-Type, Cache-Control, Content-Disposition and x-amz-meta-* (MetadataTooLarge
 * past 2 KB).
 */
function putOptions(req: IncomingMessage): PutOptions {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const k = name.slice('x-amz-meta-'.length);
    metadata[k] = Array.isArray(value) ? value.join(',') : value;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(metadata[k]);
  }
  if (bytes > MAX_METADATA_BYTES)
    throw new S3Error(
      'MetadataTooLarge',
      400,
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_METADATA_BYTES} bytes).`,
    );
  return {
    contentType: h(req, 'content-type'),
    cacheControl: h(req, 'cache-control'),
    contentDisposition: h(req, 'content-disposition'),
    metadata,
  };
}

async function putObject(ctx: OperationContext, c: Call): Promise<void> {
  const key = requireKey(c);
  // A conditional write cannot be honoured by the store's plain PUT: refuse it rather than ignore it.
  if (h(c.req, 'if-none-match') !== undefined || h(c.req, 'if-match') !== undefined)
    throw notImplemented('PutObject with If-None-Match or If-Match');
  if (h(c.req, 'x-amz-server-side-encryption-customer-algorithm')) throw notImplemented('PutObject with SSE-C');
  const body = checkedBody(c.req, await readRaw(c.req, ctx.maxBodyBytes), c.auth);
  const out = await ctx.store.put(key, body, putOptions(c.req));
  c.res.writeHead(200, out.etag ? { ETag: out.etag } : {}).end();
}

/** RFC 9110 13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since. */
export function preconditions(info: PhotoInfo, get: (name: string) => string | undefined): 200 | 304 | 412 {
  const etag = info.etag?.replace(/^W\//, '');
  const matches = (list: string) =>
    list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag);
  const last = info.lastModified ? Math.floor(info.lastModified.getTime() / 1000) * 1000 : undefined;
  const dateOf = (s: string | undefined) => (s === undefined ? NaN : Date.parse(s));
  const ifMatch = get('if-match');
  if (ifMatch !== undefined) {
    if (!matches(ifMatch)) return 412;
  } else {
    const since = dateOf(get('if-unmodified-since'));
    if (!Number.isNaN(since) && last !== undefined && last > since) return 412;
  }
  const ifNone = get('if-none-match');
  if (ifNone !== undefined) {
    if (matches(ifNone)) return 304;
  } else {
    const since = dateOf(get('if-modified-since'));
    if (!Number.isNaN(since) && last !== undefined && last <= since) return 304;
  }
  return 200;
}

/** One byte range of a `size`-byte object: [start, end] inclusive; undefined to send it all; 416 when unsatisfiable. */
export function parseRange(
  text: string | undefined,
  size: number | undefined,
): { start: number; end: number } | undefined {
  if (text === undefined || size === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or another unit: ignored, as S3 does
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0)
      throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
        'Content-Range': `bytes */${size}`,
      });
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid syntax: ignored (RFC 9110 14.1.1)
  }
  if (start >= size)
    throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
      'Content-Range': `bytes */${size}`,
    });
  return { start, end };
}

/** Passes on bytes [start, end] of the stream. */
function slice(start: number, end: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      done();
    },
  });
}

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-disposition': 'Content-Disposition',
  'response-cache-control': 'Cache-Control',
  'response-content-language': 'Content-Language',
  'response-content-encoding': 'Content-Encoding',
  'response-expires': 'Expires',
};

async function getOrHead(ctx: OperationContext, c: Call): Promise<void> {
  const key = requireKey(c);
  const get = c.route.operation === 'GetObject';
  let photo: (PhotoInfo & { body?: Readable }) | undefined = get ? await ctx.store.get(key) : await ctx.store.head(key);
  if (!get && photo && photo.contentLength === undefined) {
    // A fallback HEAD cannot know a Fernet photo's plaintext size without decrypting it, and S3 clients need
    // Content-Length on HEAD (the AWS CLI's `s3 cp` fails without it): read it, as the GET that follows would.
    const whole = await ctx.store.get(key);
    if (whole?.contentLength !== undefined) whole.body.destroy();
    photo = whole && { ...photo, contentLength: whole.contentLength ?? (await byteCount(whole.body)) };
  }
  if (!photo) {
    if (!get) return void c.res.writeHead(404).end(); // HEAD answers carry no body
    throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.');
  }
  const headers: Record<string, string> = {
    'Content-Type': photo.contentType ?? 'binary/octet-stream',
    'Accept-Ranges': 'bytes',
    // Which bucket served it ("legacy": a fallback), as the photo service's X-Photo-Source; S3 clients ignore it.
    'x-bucketmove-source': photo.source,
    ...(photo.etag ? { ETag: photo.etag } : {}),
    ...(photo.lastModified ? { 'Last-Modified': photo.lastModified.toUTCString() } : {}),
  };
  for (const [k, v] of Object.entries(photo.metadata)) headers[`x-amz-meta-${k}`] = v;
  const cond = preconditions(photo, (n) => h(c.req, n));
  if (cond !== 200) {
    photo.body?.destroy();
    if (cond === 412)
      throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    const { 'Content-Type': _t, 'Accept-Ranges': _a, ...notModified } = headers;
    return void c.res.writeHead(304, notModified).end();
  }
  for (const [q, name] of Object.entries(OVERRIDES)) {
    const v = c.route.query.get(q);
    if (v !== undefined) headers[name] = v;
  }
  const size = photo.contentLength;
  let range: { start: number; end: number } | undefined;
  try {
    range = parseRange(h(c.req, 'range'), size);
  } catch (err) {
    photo.body?.destroy();
    throw err;
  }
  const status = range ? 206 : 200;
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['Content-Length'] = String(range.end - range.start + 1);
  } else if (size !== undefined) headers['Content-Length'] = String(size);
  c.res.writeHead(status, headers);
  if (!photo.body) return void c.res.end();
  try {
    if (range) await pipeline(photo.body, slice(range.start, range.end), c.res);
    else await pipeline(photo.body, c.res);
  } catch (err) {
    // The headers are out: cutting the response short is the only honest signal left (the client sees a failed read).
    c.res.destroy();
    ctx.log.warn(
      { event: 'gateway.stream_failed', op: c.route.operation, error: (err as Error).message?.split('\n')[0] },
      'a stream failed after the headers were sent',
    );
  }
}

async function byteCount(body: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  return n;
}

/** DeleteObjects: deletes running at once. */
const DELETES_IN_FLIGHT = 8;

async function deleteObjects(ctx: OperationContext, c: Call): Promise<void> {
  const raw = await readRaw(c.req, 2 * 1024 * 1024);
  // S3 requires an integrity check on DeleteObjects (Content-MD5 or an x-amz-checksum-*): checkedBody verifies it.
  if (
    !h(c.req, 'content-md5') &&
    !Object.keys(c.req.headers).some((n) => n.startsWith('x-amz-checksum-')) &&
    !c.req.headers['x-amz-trailer']
  ) {
    throw invalidRequest('Missing required header for this request: Content-MD5');
  }
  const { keys, quiet } = parseDelete(checkedBody(c.req, raw, c.auth).toString('utf8'));
  // Each delete is the store's (legacy first, then a tombstone): a few at a time, the answer in the request's order.
  const outcomes: DeleteOutcome[] = new Array(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DELETES_IN_FLIGHT, keys.length) }, async () => {
      while (next < keys.length) {
        const i = next++;
        try {
          await ctx.store.delete(keys[i]);
          outcomes[i] = { key: keys[i] };
        } catch (err) {
          outcomes[i] = { key: keys[i], error: s3ErrorOf(err) };
        }
      }
    }),
  );
  sendXml(c.res, 200, deleteResultXml(outcomes, quiet));
}

/** Continuation tokens: the page's last key or prefix, base64url (opaque to the app, as S3's are). */
const token = {
  encode: (startAfter: string) => Buffer.from(startAfter, 'utf8').toString('base64url'),
  decode: (t: string) => {
    const s = Buffer.from(t, 'base64url').toString('utf8');
    if (!t || Buffer.from(s, 'utf8').toString('base64url') !== t)
      throw invalidArgument('The continuation token provided is incorrect');
    return s;
  },
};

/** The parameters ListObjects and ListObjectsV2 share, checked, and the merged page after `after`. */
async function listPage(ctx: OperationContext, c: Call, after: (delimiter: string | undefined) => string | undefined) {
  const q = c.route.query;
  const maxText = q.get('max-keys');
  const maxKeys = maxText === undefined ? 1000 : Number(maxText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw invalidArgument('max-keys must be a whole number from 0');
  const enc = q.get('encoding-type');
  if (enc !== undefined && enc !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request');
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const clamped = Math.min(maxKeys, 1000);
  const startAfter = after(delimiter) || undefined;
  const page =
    clamped === 0
      ? { objects: [], prefixes: [], truncated: false }
      : await ctx.store.list({ prefix, delimiter, startAfter, maxKeys: clamped });
  return { page, prefix, delimiter, maxKeys: clamped, urlEncode: enc === 'url' };
}

/**
 * ListObjects (v1): the same merged view as ListObjectsV2, paged by `marker` (a key, or a common prefix, whose keys
 * are then skipped too) and NextMarker.
 */
async function listObjectsV1(ctx: OperationContext, c: Call): Promise<void> {
  const marker = c.route.query.get('marker') ?? '';
  const { page, prefix, delimiter, maxKeys, urlEncode } = await listPage(ctx, c, (d) =>
    marker ? nextStartAfter(marker, d) : undefined,
  );
  const nextMarker = page.truncated ? page.last : undefined;
  sendXml(c.res, 200, listV1Xml({ bucket: c.bucket, prefix, delimiter, maxKeys, marker, nextMarker, urlEncode }, page));
}

async function listObjectsV2(ctx: OperationContext, c: Call): Promise<void> {
  const q = c.route.query;
  const continuationToken = q.get('continuation-token');
  const startAfter = q.get('start-after');
  const {
    page,
    prefix,
    delimiter,
    maxKeys: clamped,
    urlEncode,
  } = await listPage(ctx, c, () => (continuationToken !== undefined ? token.decode(continuationToken) : startAfter));

  const next =
    page.truncated && page.last !== undefined ? token.encode(nextStartAfter(page.last, delimiter)) : undefined;
  sendXml(
    c.res,
    200,
    listV2Xml(
      {
        bucket: c.bucket,
        prefix,
        delimiter,
        maxKeys: clamped,
        continuationToken,
        nextContinuationToken: next,
        startAfter,
        urlEncode,
      },
      page,
    ),
  );
}
