/**
 * The light request path of a small-object copy's per-object calls (GetObject of the legacy object, the conditional
 * PutObject of the new one, HeadObject) and of the run's listings (ListObjectsV2: list-objects.ts reads the page):
 * the same HTTP exchange the SDK's S3 client makes, without its middleware stack, which profiles showed to be the
 * largest share of the migrator's CPU per object (BENCHMARKS.md, "Migrator against its peers").
 *
 * Everything that decides what goes on the wire is the client's own, read from its resolved config: the endpoint (the
 * SDK's S3 endpoint rules, `config.endpointProvider`, once per bucket: path-style on S3-compatible servers,
 * virtual-hosted on AWS, the signing region and name), the credentials provider (`config.credentials`: static keys
 * or a `fromTemporaryCredentials` role chain, refreshed as the SDK refreshes them), the clock skew correction
 * (`config.systemClockOffset`, shared with the SDK path), the request handler (its keep-alive agent sized to the run's
 * concurrency, its connection, idle and request timeouts, its abort handling; `client.destroy()` closes it) and the
 * retry strategy instance (`config.retryStrategy`, so the two paths share one retry quota and adaptive rate limiter).
 * Requests are signed as the SDK's signer (@smithy/signature-v4) signs them, by `HeaderSigner` (sigv4.ts: the same
 * bytes, its signing key derived once a day instead of looked up by a hash of the secret per request). Retries follow
 * the SDK's retry middleware: errors sorted by @smithy/core/retry's classifiers, delays and attempts from the strategy.
 * S3's XML errors become S3ServiceException instances shaped as the SDK's (name = the S3 error Code, $fault,
 * $metadata.httpStatusCode, $operation as nameOperations sets it), so classify.ts, isNoSuchKey and
 * isPreconditionFailed read them the same.
 *
 * A GET goes this way where the SDK would not validate the response's checksum either (responseChecksumValidation
 * "WHEN_REQUIRED", as on S3-compatible servers), or where the caller's codec authenticates every byte of the body
 * (Fernet's HMAC, AES-GCM's tag: objects/read-legacy.ts `authenticatedBody`), which finds whatever that checksum would;
 * otherwise, on AWS's default ("WHEN_SUPPORTED"), the GET stays on the SDK, which checks the object's checksum.
 * Endpoints whose rules ask for another auth scheme than SigV4 (S3 Express, multi-region access points) stay on the SDK
 * as well.
 *
 * A large object's PutObject may go this way too, streamed in SigV4 signed chunks (signed-chunks.ts), which the SDK's
 * signer does not write: sent once (a stream cannot be replayed), on a connection of its own, and ended at once when
 * its body fails (objects/write-new.ts putSignedChunks).
 *
 * It is opt-in per client (enableLightPath, called by the side-client factory), and BUCKETMOVE_S3_HOT_PATH=sdk forces
 * the SDK path for every call (to compare the two in the bench, or to bisect a fault).
 */
import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { parseXML } from '@aws-sdk/xml-builder';
import { extendedEncodeURIComponent, HttpRequest } from '@smithy/core/protocols';
import {
  getRetryAfterHint,
  isClockSkewError,
  isServerError,
  isThrottlingError,
  isTransientError,
} from '@smithy/core/retry';
import type { HttpResponse, RequestHandler } from '@smithy/types';
import type { IncomingMessage } from 'http';
import type { Readable } from 'stream';
import { ConfigError } from '../../../workspaces/errors';
import { EMPTY_SHA256, HeaderSigner, type RequestSignature, type SigningCredentials } from './sigv4';
import { SignedChunkEncoder, signedChunkedLength, STREAMING_SIGNED_PAYLOAD } from './signed-chunks';
import { pipeInto } from '../pipe-into';

export type HotPath = 'light' | 'sdk';
export const HOT_PATH_ENV = 'BUCKETMOVE_S3_HOT_PATH';

/** The hot path chosen by the environment: "light" (the default) or "sdk"; anything else is a one-line ConfigError. */
export function hotPathFromEnv(env: NodeJS.ProcessEnv = process.env): HotPath {
  const v = env[HOT_PATH_ENV]?.trim().toLowerCase();
  if (!v || v === 'light') return 'light';
  if (v === 'sdk') return 'sdk';
  throw new ConfigError(`${HOT_PATH_ENV} must be "light" or "sdk" (got "${env[HOT_PATH_ENV]}")`);
}

export type Operation = 'GetObject' | 'PutObject' | 'HeadObject' | 'ListObjectsV2';

/** A successful answer: the status, the headers (lower-case names) and, for a GET, the body stream. */
export interface LightResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: IncomingMessage;
}

export interface LightRequest {
  readonly operation: Operation;
  readonly bucket: string;
  /** The object's key; "" for a request on the bucket (ListObjectsV2). */
  readonly key: string;
  /** The query string's parameters (unencoded). */
  readonly query?: Readonly<Record<string, string>>;
  /** Header values by lower-case name; undefined values are left out. */
  readonly headers: Record<string, string | undefined>;
  /** A body held in memory (retried like the SDK retries it); undefined: none. */
  readonly body?: Buffer;
  /** The body's SHA-256 (hex), when known: SigV4's payload hash. Default: of an empty body. */
  readonly payloadSha256?: string;
  /**
   * A body streamed as SigV4 signed chunks (signed-chunks.ts) instead of `body`: exactly `decodedLength` bytes. Sent
   * once, never retried (a stream cannot be replayed): the caller retries the whole object.
   */
  readonly streamed?: {
    readonly body: Readable;
    readonly decodedLength: number;
    readonly chunkSize?: number;
    /** What goes on the wire instead of the framed body itself (the probe of a server's chunk check alters a byte). */
    readonly onWire?: (framed: Readable) => Readable;
  };
  readonly signal?: AbortSignal;
}

/** What the SDK's config resolved to, as far as this path reads it (S3Client['config'], loosely typed). */
type Resolved = S3Client['config'] & { systemClockOffset: number };
type Provider<T> = T | (() => Promise<T>) | undefined;
const value = async <T>(p: Provider<T>): Promise<T | undefined> =>
  typeof p === 'function' ? (p as () => Promise<T>)() : p;

interface BucketRoute {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** "" (virtual-hosted) or "/bucket" (path-style), URI-encoded as the endpoint rules encode it. */
  readonly basePath: string;
  readonly signer: HeaderSigner;
}

/** The light path of one SDK S3 client. */
export class LightS3 {
  private readonly routes = new Map<string, Promise<BucketRoute | undefined>>();
  private getAllowed?: Promise<boolean>;

  constructor(private readonly client: S3Client) {}

  /** Whether any GET may go this way: where the SDK would not validate the response's checksum either. */
  getObjectAllowed(): Promise<boolean> {
    this.getAllowed ??= value(this.config.responseChecksumValidation).then((v) => v === 'WHEN_REQUIRED');
    return this.getAllowed;
  }

  /** Whether requests to `bucket` can go this way (a SigV4 endpoint); resolved once per bucket. */
  async supports(bucket: string): Promise<boolean> {
    return (await this.route(bucket)) !== undefined;
  }

  /**
   * Sends one request, retried as the SDK's retry middleware retries it. Resolves with a 2xx answer (the caller reads
   * or drops its body); rejects with the SDK-shaped error of any other answer, or the transport's error.
   */
  async send(r: LightRequest): Promise<LightResponse> {
    const route = await this.route(r.bucket);
    if (!route) throw new Error(`the light S3 path cannot address bucket "${r.bucket}" (call supports() first)`);
    const strategy = await (this.config.retryStrategy as () => Promise<RetryStrategy>)();
    let token = await abortable(strategy.acquireInitialRetryToken(''), r.signal);
    let attempts = 0;
    let totalRetryDelay = 0;
    for (;;) {
      try {
        const res = await this.attempt(route, r);
        strategy.recordSuccess(token);
        return res;
      } catch (err) {
        const e = err as SdkError;
        if (!e.$metadata) e.$metadata = {};
        e.$metadata.attempts = attempts + 1;
        e.$metadata.totalRetryDelay = totalRetryDelay;
        if (!('$operation' in e)) {
          Object.defineProperty(e, '$operation', { value: r.operation, enumerable: false, configurable: true });
        }
        for (const observe of ATTEMPT_OBSERVERS.get(this.client) ?? []) observe(e);
        if (r.signal?.aborted || r.streamed) throw e;
        try {
          token = await abortable(strategy.refreshRetryTokenForRetry(token, retryErrorInfo(e)), r.signal);
        } catch {
          throw e;
        }
        attempts = token.getRetryCount();
        const delay = token.getRetryDelay();
        totalRetryDelay += delay;
        if (delay > 0) await abortable(new Promise((resolve) => setTimeout(resolve, delay)), r.signal);
      }
    }
  }

  private get config(): Resolved {
    return this.client.config as Resolved;
  }

  private route(bucket: string): Promise<BucketRoute | undefined> {
    let route = this.routes.get(bucket);
    if (!route) {
      route = this.resolveRoute(bucket);
      this.routes.set(bucket, route);
    }
    return route;
  }

  /** The SDK's own endpoint rules for the bucket, with the client's settings (what its endpoint middleware passes). */
  private async resolveRoute(bucket: string): Promise<BucketRoute | undefined> {
    const c = this.config as Resolved & Record<string, unknown>;
    const custom = (await value(c.endpoint as Provider<EndpointV1>)) as EndpointV1 | undefined;
    const resolved = c.endpointProvider({
      Bucket: bucket,
      Region: await value(c.region as Provider<string>),
      UseFIPS: (await value(c.useFipsEndpoint as Provider<boolean>)) ?? false,
      UseDualStack: (await value(c.useDualstackEndpoint as Provider<boolean>)) ?? false,
      ForcePathStyle: (await value(c.forcePathStyle as Provider<boolean>)) ?? false,
      Accelerate: (await value(c.useAccelerateEndpoint as Provider<boolean>)) ?? false,
      UseArnRegion: await value(c.useArnRegion as Provider<boolean>),
      DisableMultiRegionAccessPoints: (await value(c.disableMultiregionAccessPoints as Provider<boolean>)) ?? false,
      ...(custom
        ? {
            Endpoint: `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}${custom.path ?? ''}`,
          }
        : {}),
    } as Parameters<Resolved['endpointProvider']>[0]);
    const scheme = (resolved.properties?.authSchemes as AuthScheme[] | undefined)?.[0];
    if (scheme && scheme.name !== 'sigv4') return undefined;
    const url = resolved.url;
    return {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      basePath: url.pathname.replace(/\/$/, ''),
      signer: new HeaderSigner(
        scheme?.signingRegion ?? ((await value(c.region as Provider<string>)) as string),
        scheme?.signingName ?? 's3',
      ),
    };
  }

  private async attempt(route: BucketRoute, r: LightRequest): Promise<LightResponse> {
    const headers: Record<string, string> = {
      host: route.port ? `${route.hostname}:${route.port}` : route.hostname,
      'x-amz-content-sha256': r.payloadSha256 ?? EMPTY_SHA256,
    };
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v;
    if (r.body) headers['content-length'] = String(r.body.length);
    const streamed = r.streamed;
    if (streamed) {
      headers['x-amz-content-sha256'] = STREAMING_SIGNED_PAYLOAD;
      headers['content-encoding'] = 'aws-chunked';
      headers['x-amz-decoded-content-length'] = String(streamed.decodedLength);
      headers['content-length'] = String(signedChunkedLength(streamed.decodedLength, streamed.chunkSize));
      // Its socket is not reused: a server that answers before the body's end (RGW 16 refusing an altered chunk) may
      // leave the rest of the body unread on the connection, where the next request would be read after it (400).
      headers.connection = 'close';
    }
    // S3 signs the path as sent: each key segment encoded once, never twice.
    const path = `${route.basePath}/${r.key.split('/').map(extendedEncodeURIComponent).join('/')}`;
    const method = METHODS[r.operation];
    const config = this.config;
    const credentials = await value(config.credentials as Provider<SigningCredentials>);
    if (!credentials) throw new Error('the S3 client has no credentials to sign with');
    const sent = Date.now();
    const seed = route.signer.sign(
      method,
      path,
      headers,
      credentials,
      new Date(sent + (config.systemClockOffset ?? 0)),
      r.query,
    );
    const framed = streamed ? framedBody(streamed, seed) : undefined;
    const signed = new HttpRequest({
      method,
      protocol: route.protocol,
      hostname: route.hostname,
      port: route.port,
      path,
      query: r.query as Record<string, string> | undefined,
      headers,
      body: framed ?? r.body,
    });
    const handler = config.requestHandler as unknown as RequestHandler<
      HttpRequest,
      HttpResponse,
      { abortSignal?: AbortSignal }
    >;
    const { response } = framed
      ? await handleStreamed(handler, signed, framed, r.signal)
      : await handler.handle(signed, { abortSignal: r.signal });
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      return { statusCode: status, headers: response.headers, body: response.body as IncomingMessage };
    }
    const err = await serviceError(response, r.operation);
    if (isClockSkewError(err) && response.headers.date) {
      config.systemClockOffset = updatedClockOffset(
        response.headers.date,
        config.systemClockOffset ?? 0,
        sent,
        response.headers.age,
      );
    }
    throw err;
  }
}

/**
 * Sends a request whose body is a stream. A body that fails (the codec refused the bytes) ends the request at once, and
 * its error is what the caller sees: the request handler pipes a body into the socket, which would otherwise wait for
 * the bytes still owed to Content-Length until a timeout.
 */
async function handleStreamed(
  handler: RequestHandler<HttpRequest, HttpResponse, { abortSignal?: AbortSignal }>,
  request: HttpRequest,
  body: Readable,
  signal: AbortSignal | undefined,
): Promise<{ response: HttpResponse }> {
  const controller = new AbortController();
  let failure: unknown;
  const onBodyError = (err: unknown) => {
    failure ??= err;
    controller.abort();
  };
  const onAbort = () => controller.abort();
  body.on('error', onBodyError);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) controller.abort();
    return await handler.handle(request, { abortSignal: controller.signal });
  } catch (err) {
    throw failure ?? err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A streamed request's body framed as signed chunks chained to the request's signature (`seed`). */
function framedBody(streamed: NonNullable<LightRequest['streamed']>, seed: RequestSignature): Readable {
  const framed = pipeInto(streamed.body, new SignedChunkEncoder(seed, streamed.decodedLength, streamed.chunkSize));
  return streamed.onWire ? streamed.onWire(framed) : framed;
}

/**
 * The clock offset after a clock-skew error, as the SDK's signer computes it (@aws-sdk/core httpAuthSchemes
 * getUpdatedSystemClockOffset, which the package does not export from an entry point): the server's Date minus now,
 * unless the answer came from a cache (Age) or took longer than 15 minutes.
 */
function updatedClockOffset(date: string, current: number, sent: number, age: string | undefined): number {
  if (age !== undefined) return current;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return current;
  const now = Date.now();
  if (now - sent > 900_000) return current;
  return server - now;
}

const METHODS: Record<Operation, string> = {
  GetObject: 'GET',
  PutObject: 'PUT',
  HeadObject: 'HEAD',
  ListObjectsV2: 'GET',
};

/** The largest error body read (S3's are a few hundred bytes). */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * The SDK's error for a non-2xx answer (@aws-sdk/core's loadRestXmlErrorCode and @smithy/core's throwDefaultError):
 * the XML body's Code names it, a bodiless 404 (a HEAD's) is "NotFound", any other bodiless answer is "Unknown" with
 * the message "UnknownError"; $fault "server" for a 5xx, else "client"; the parsed fields (Code, Message, RequestId,
 * HostId) on the error. test/aws/light-s3.test.ts compares both paths' errors on the same answers.
 */
export async function serviceError(response: HttpResponse, operation: Operation): Promise<SdkError> {
  const text = await readText(response.body as IncomingMessage | undefined);
  let parsed: Record<string, unknown> = {};
  if (text.trim()) {
    try {
      const doc = parseXML(text) as Record<string, unknown>;
      parsed = ((doc.Error as Record<string, unknown> | undefined) ?? doc) as Record<string, unknown>;
    } catch {
      parsed = {};
    }
  }
  const status = response.statusCode;
  const code =
    (typeof parsed.Code === 'string' && parsed.Code) || (status === 404 ? 'NotFound' : undefined) || 'Unknown';
  const message =
    typeof parsed.Message === 'string'
      ? parsed.Message
      : typeof parsed.message === 'string'
        ? parsed.message
        : 'UnknownError';
  const h = response.headers;
  const err = new S3ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    message,
    $metadata: {
      httpStatusCode: status,
      requestId: h['x-amz-request-id'] ?? h['x-amzn-requestid'] ?? h['x-amzn-request-id'],
      extendedRequestId: h['x-amz-id-2'],
      cfId: h['x-amz-cf-id'],
    },
  }) as SdkError;
  const { message: _m, ...fields } = parsed;
  void _m;
  Object.assign(err, fields);
  Object.defineProperty(err, '$response', { value: response, enumerable: false, configurable: true });
  Object.defineProperty(err, '$operation', { value: operation, enumerable: false, configurable: true });
  return err;
}

async function readText(body: IncomingMessage | undefined): Promise<string> {
  if (!body || typeof body.on !== 'function') return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < MAX_ERROR_BODY) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}

/** What the SDK's retry middleware hands the strategy (getRetryErrorInfo in @smithy/core's retryMiddleware). */
function retryErrorInfo(error: SdkError): RetryErrorInfo {
  const errorType = isThrottlingError(error)
    ? 'THROTTLING'
    : isTransientError(error)
      ? 'TRANSIENT'
      : isServerError(error)
        ? 'SERVER_ERROR'
        : 'CLIENT_ERROR';
  const retryAfterHint = getRetryAfterHint((error as { $response?: unknown }).$response);
  return { error, errorType, ...(retryAfterHint ? { retryAfterHint } : {}) };
}

/** `p`, or the SDK's AbortError as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function abortError(): Error {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError' });
}

type SdkError = Omit<Error, 'cause'> & {
  cause?: Error;
  $metadata: { httpStatusCode?: number; attempts?: number; totalRetryDelay?: number };
  $fault?: 'client' | 'server';
  Code?: string;
};
interface EndpointV1 {
  protocol: string;
  hostname: string;
  port?: number;
  path?: string;
}
interface AuthScheme {
  name: string;
  signingName?: string;
  signingRegion?: string;
}
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
interface RetryErrorInfo {
  error: Error;
  errorType: 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';
  retryAfterHint?: Date;
}
interface RetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>;
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken>;
  recordSuccess(token: RetryToken): void;
}

const LIGHT = new WeakMap<S3Client, LightS3>();
const ATTEMPT_OBSERVERS = new WeakMap<S3Client, Array<(err: unknown) => void>>();

/**
 * Calls `observe` with the error of every failed attempt of `client`'s light-path requests, retried or not: what a
 * middleware below the SDK's retry step sees on the SDK path (throttle-observer.ts registers both).
 */
export function observeLightAttempts(client: S3Client, observe: (err: unknown) => void): void {
  ATTEMPT_OBSERVERS.set(client, [...(ATTEMPT_OBSERVERS.get(client) ?? []), observe]);
}

/**
 * Lets the hot calls of `client` take the light path (unless `path` is "sdk", default from BUCKETMOVE_S3_HOT_PATH).
 * The client must send through a request handler of its own config (the factory's NodeHttpHandler). Returns the client.
 */
export function enableLightPath(client: S3Client, path: HotPath = hotPathFromEnv()): S3Client {
  if (path === 'light') LIGHT.set(client, new LightS3(client));
  else LIGHT.delete(client);
  return client;
}

/** The light path of `client`, when enableLightPath gave it one. */
export function lightPathOf(client: S3Client): LightS3 | undefined {
  return LIGHT.get(client);
}

const META_PREFIX = 'x-amz-meta-';

/** The user metadata of an answer's headers, as the SDK reads it into `Metadata`: x-amz-meta-<name> -> <name>. */
export function userMetadata(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith(META_PREFIX)) out[k.slice(META_PREFIX.length)] = v;
  return out;
}

/** User metadata as request headers, as the SDK sends `Metadata`. */
export function metadataHeaders(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) out[`${META_PREFIX}${k.toLowerCase()}`] = v;
  return out;
}
