/**
 * Step 3 of an object's way: write the plaintext to the new bucket, never over anything: every write carries
 * `If-None-Match: *` (a single PUT of bytes in memory, a single PUT streamed, or the CompleteMultipartUpload of
 * lib-storage's Upload), S3's SHA-256 checksum so S3 verifies the bytes, the workspace's server-side encryption, and
 * the provenance metadata. And the one delete this tool makes: of its own copy, conditional on that copy's ETag.
 */
import {
  type CreateMultipartUploadCommandInput,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'stream';
import { DEFAULT_COPY_WINDOW } from '../../../workspaces/codec-memory';
import type { Encryption } from '../../../workspaces/schema';
import { httpStatusOf, isNoSuchKey } from '../aws/errors';
import { lightPathOf, metadataHeaders, userMetadata, type LightRequest } from '../aws/light-s3';
import { readProvenance, sha256Base64 } from './provenance';

export interface SseParams {
  readonly ServerSideEncryption: ServerSideEncryption;
  readonly SSEKMSKeyId?: string;
  readonly BucketKeyEnabled?: boolean;
}

/** The PUT headers for the workspace's encryption setting. */
export function sseParams(enc: Encryption): SseParams {
  return enc.type === 'SSE-KMS'
    ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: enc.kmsKeyArn, BucketKeyEnabled: enc.bucketKey }
    : { ServerSideEncryption: 'AES256' };
}

export interface Target {
  readonly client: S3Client;
  readonly bucket: string;
  readonly sse: SseParams;
  /** Objects above this plaintext size go multipart, in parts of this size. */
  readonly partSize: number;
  /** Parts of one object in flight at once. */
  readonly queueSize: number;
}

/** The new bucket as the migrator writes it: through `side`'s client, with the workspace's encryption, and the copy
 * window (part size, parts in flight) the memory model sizes for unless told otherwise. */
export function newBucketTarget(
  encryption: Encryption,
  side: { readonly s3: S3Client; readonly bucket: string },
  o: { readonly partSize?: number; readonly queueSize?: number } = {},
): Target {
  return {
    client: side.s3,
    bucket: side.bucket,
    sse: sseParams(encryption),
    partSize: o.partSize ?? DEFAULT_COPY_WINDOW.partSize,
    queueSize: o.queueSize ?? DEFAULT_COPY_WINDOW.queueSize,
  };
}

export interface NewObject {
  readonly key: string;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly metadata: Record<string, string>;
}

export type WriteResult = { readonly written: true; readonly versionId?: string } | { readonly written: false };

export function isPreconditionFailed(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | null;
  return httpStatusOf(err) === 412 || e?.name === 'PreconditionFailed' || e?.Code === 'PreconditionFailed';
}

function baseParams(t: Target, o: NewObject) {
  return {
    Bucket: t.bucket,
    Key: o.key,
    ContentType: o.contentType,
    CacheControl: o.cacheControl,
    ContentDisposition: o.contentDisposition,
    Metadata: o.metadata,
    IfNoneMatch: '*',
    ...t.sse,
  };
}

/** The headers of a conditional PutObject on the light path, as the SDK's serializer writes them for baseParams. */
function lightPutHeaders(t: Target, o: NewObject): Record<string, string | undefined> {
  return {
    // The SDK's PutObject serializer sends this default when the input has no ContentType.
    'content-type': o.contentType ?? 'application/octet-stream',
    'cache-control': o.cacheControl,
    'content-disposition': o.contentDisposition,
    'if-none-match': '*',
    'x-amz-server-side-encryption': t.sse.ServerSideEncryption,
    'x-amz-server-side-encryption-aws-kms-key-id': t.sse.SSEKMSKeyId,
    'x-amz-server-side-encryption-bucket-key-enabled':
      t.sse.BucketKeyEnabled === undefined ? undefined : String(t.sse.BucketKeyEnabled),
    ...metadataHeaders(o.metadata),
  };
}

/**
 * One PUT of a whole plaintext held in memory; `written: false` when the key already exists (412). The body's SHA-256
 * (computed once, as the plaintext was decrypted) serves three ends: S3's checksum (x-amz-checksum-sha256), the
 * provenance, and SigV4's payload hash (x-amz-content-sha256), which the signer would otherwise compute again over the
 * whole body (@smithy/signature-v4 getPayloadHash takes the header when the request has it). S3 checks both against
 * the bytes it receives.
 */
export async function putWhole(
  t: Target,
  o: NewObject,
  body: Buffer,
  sha256Hex: string,
  signal?: AbortSignal,
): Promise<WriteResult> {
  try {
    const light = lightPathOf(t.client);
    if (light && (await light.supports(t.bucket))) {
      const res = await light.send({
        operation: 'PutObject',
        bucket: t.bucket,
        key: o.key,
        headers: { ...lightPutHeaders(t, o), 'x-amz-checksum-sha256': sha256Base64(sha256Hex) },
        body,
        payloadSha256: sha256Hex,
        signal,
      });
      res.body.resume();
      return { written: true, versionId: res.headers['x-amz-version-id'] };
    }
    const command = new PutObjectCommand({
      ...baseParams(t, o),
      Body: body,
      ContentLength: body.length,
      ChecksumSHA256: sha256Base64(sha256Hex),
    });
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = sha256Hex;
        return next(args);
      },
      { step: 'build', name: 'bucketmovePayloadSha256' },
    );
    const out = await t.client.send(command, { abortSignal: signal });
    return { written: true, versionId: out.VersionId };
  } catch (err) {
    if (isPreconditionFailed(err)) return { written: false };
    throw err;
  }
}

/**
 * The largest object one PutObject may carry: 5 GiB on S3 ("Uploading objects": a single PUT takes an object of up to
 * 5 GB; larger ones need multipart), and RGW's default `rgw_max_put_size` (5368709120, measured on the rig's RGW
 * 16.2.15 with `radosgw --show-config-value rgw_max_put_size`).
 */
export const SINGLE_PUT_LIMIT = 5 * 1024 ** 3;

/**
 * The SDK does not resend a streamed body (it cannot rewind it): on any failure it logs "An error was encountered in a
 * non-retryable streaming request" through the client's logger, or console.warn when the client has none, and throws
 * the error. The run retries the whole object itself (classify.ts), and a 412 is an answer, not a failure: the
 * warning is noise on the CLI's terminal, so the streamed PUT runs with a logger that drops it.
 */
const QUIET: NonNullable<S3ClientConfig['logger']> = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * One PutObject of a plaintext stream of known length (`size`, at most SINGLE_PUT_LIMIT), with If-None-Match and the
 * SHA-256 already known from the hashing pass: the large-object write on a server that ignores If-None-Match on
 * CompleteMultipartUpload (conditional-write-probe.ts). Like any single PUT it is conditional where the object comes
 * into existence, when the body is complete: an app write that lands before or during the upload wins (412), and a
 * stream that fails midway (the codec refused the bytes, the GET was cut) fails the request, which leaves nothing.
 */
export async function putStreamed(
  t: Target,
  o: NewObject,
  body: Readable,
  size: number,
  sha256Hex: string,
  signal?: AbortSignal,
): Promise<WriteResult> {
  const command = new PutObjectCommand({
    ...baseParams(t, o),
    Body: body,
    ContentLength: size,
    ChecksumSHA256: sha256Base64(sha256Hex),
  });
  command.middlewareStack.add(
    (next, context) => {
      context.logger = QUIET;
      return next;
    },
    { step: 'initialize', name: 'bucketmoveQuietStreamingRetry' },
  );
  try {
    const out = await t.client.send(command, { abortSignal: signal });
    return { written: true, versionId: out.VersionId };
  } catch (err) {
    body.destroy();
    if (isPreconditionFailed(err)) return { written: false };
    throw err;
  }
}

/**
 * Whether `t` can take a streamed PUT in signed chunks (putSignedChunks): its client has the light request path and
 * the bucket's endpoint signs with SigV4. Not where BUCKETMOVE_S3_HOT_PATH=sdk forces the SDK path.
 */
export async function signedChunksAvailable(t: Target): Promise<boolean> {
  const light = lightPathOf(t.client);
  return light !== undefined && (await light.supports(t.bucket));
}

/**
 * One PutObject of a plaintext stream of known length (`size`, at most SINGLE_PUT_LIMIT) sent as SigV4 signed chunks
 * (aws/signed-chunks.ts), with If-None-Match: a large object read once on a server that ignores If-None-Match on
 * CompleteMultipartUpload. No hash of the whole is needed before the first byte: the server checks each chunk's
 * SHA-256 against the signature the migrator sent with it, as the bytes arrive, and refuses the request on the first
 * that differs. The whole plaintext's SHA-256, taken in the same pass by the caller, goes to the checkpoint and the
 * report (provenance `signed-chunks`). Conditional and all-or-nothing as putStreamed is: the last chunk leaves only
 * once `body` has ended cleanly, so a codec that refuses the bytes at their end leaves nothing. Sent once; the run
 * retries the whole object (classify.ts). Only where signedChunksAvailable.
 */
export async function putSignedChunks(
  t: Target,
  o: NewObject,
  body: Readable,
  size: number,
  signal?: AbortSignal,
  wire: Pick<NonNullable<LightRequest['streamed']>, 'chunkSize' | 'onWire'> = {},
): Promise<WriteResult> {
  const light = lightPathOf(t.client);
  if (!light) throw new Error('putSignedChunks needs the light request path (signedChunksAvailable)');
  try {
    const res = await light.send({
      operation: 'PutObject',
      bucket: t.bucket,
      key: o.key,
      headers: lightPutHeaders(t, o),
      streamed: { body, decodedLength: size, ...wire },
      signal,
    });
    res.body.resume();
    return { written: true, versionId: res.headers['x-amz-version-id'] };
  } catch (err) {
    body.destroy();
    if (isPreconditionFailed(err)) return { written: false };
    throw err;
  }
}

/** How a multipart upload's parts are checksummed: SHA-256 each (composite), unless told otherwise (write-large.ts). */
export type MultipartChecksum = Pick<CreateMultipartUploadCommandInput, 'ChecksumAlgorithm' | 'ChecksumType'>;

/**
 * A multipart upload of a plaintext stream (lib-storage): at most `queueSize` parts of `partSize` bytes in flight,
 * each part carrying its checksum (SHA-256 unless `checksum` says otherwise), the completion carrying If-None-Match.
 * If the stream fails (the codec refused the bytes) or the run is aborted, lib-storage aborts the multipart upload:
 * nothing partial is left. `client` stands in for the target's (write-large.ts adds the completion's checksum).
 */
export async function putMultipart(
  t: Target,
  o: NewObject,
  body: Readable,
  size: number | undefined,
  abortController: AbortController,
  checksum: MultipartChecksum = { ChecksumAlgorithm: 'SHA256' },
  client: S3Client = t.client,
): Promise<WriteResult> {
  const upload = new Upload({
    client,
    params: { ...baseParams(t, o), Body: body, ContentLength: size, ...checksum },
    partSize: t.partSize,
    queueSize: t.queueSize,
    leavePartsOnError: false,
    abortController,
  });
  try {
    const out = await upload.done();
    return { written: true, versionId: (out as { VersionId?: string }).VersionId };
  } catch (err) {
    if (isPreconditionFailed(err)) return { written: false };
    throw err;
  }
}

export interface ExistingObject {
  readonly metadata: Record<string, string>;
  readonly versionId?: string;
  readonly size: number;
  /** As S3 sends it, quoted: what If-Match takes. */
  readonly etag?: string;
}

export async function headTarget(t: Target, key: string, signal?: AbortSignal): Promise<ExistingObject | undefined> {
  try {
    const light = lightPathOf(t.client);
    if (light && (await light.supports(t.bucket))) {
      const res = await light.send({ operation: 'HeadObject', bucket: t.bucket, key, headers: {}, signal });
      res.body.resume();
      const h = res.headers;
      return {
        metadata: userMetadata(h),
        versionId: h['x-amz-version-id'],
        size: Number(h['content-length'] ?? 0),
        etag: h.etag,
      };
    }
    const out = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }), { abortSignal: signal });
    return { metadata: out.Metadata ?? {}, versionId: out.VersionId, size: out.ContentLength ?? 0, etag: out.ETag };
  } catch (err) {
    if (isNoSuchKey(err)) return undefined;
    throw err;
  }
}

/**
 * A copy this tool wrote: made from the legacy object of this ETag, and (on a versioned bucket) created as this
 * version.
 */
export interface OwnCopy {
  readonly sourceEtag: string;
  readonly versionId?: string | null;
}

/** Whether the key holds that copy: its provenance names the source ETag, and its version is the one written. */
export function holdsOwnCopy(now: ExistingObject, copy: OwnCopy): boolean {
  const versioned = Boolean(copy.versionId) && copy.versionId !== 'null';
  return (
    readProvenance(now.metadata)?.sourceEtag === copy.sourceEtag && (!versioned || now.versionId === copy.versionId)
  );
}

/**
 * Removes the key only while it holds what `isOurs` recognizes (this tool's copy, holdsOwnCopy): a HEAD, then a
 * DeleteObject with If-Match on the ETag that HEAD saw (a delete marker on a versioned bucket, as the app's own
 * delete). On S3 a write of the app between the two fails the delete (412) and the app's write stays ("How to perform
 * conditional deletes": If-Match is compared with the current version's ETag); the writer role may delete only this way
 * (stacks/policies.ts). RGW 16 ignores If-Match on DeleteObject (migrator/rig/README.md): there the HEAD is the only
 * check.
 *
 * 'deleted', or 'not-ours' when the key is gone or holds something else (the app's write, a tombstone, another copy).
 */
export async function deleteIfStill(
  t: Target,
  key: string,
  isOurs: (now: ExistingObject) => boolean,
  signal?: AbortSignal,
): Promise<'deleted' | 'not-ours'> {
  const now = await headTarget(t, key, signal);
  if (!now || !isOurs(now)) return 'not-ours';
  if (!now.etag)
    throw new Error(
      `the new bucket answered a HEAD of "${key}" without an ETag: the copy cannot be removed conditionally`,
    );
  try {
    await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key, IfMatch: now.etag }), {
      abortSignal: signal,
    });
    return 'deleted';
  } catch (err) {
    // 412: the key changed since the HEAD (the app wrote it); 404: it is gone already.
    if (isPreconditionFailed(err) || httpStatusOf(err) === 404) return 'not-ours';
    throw err;
  }
}
