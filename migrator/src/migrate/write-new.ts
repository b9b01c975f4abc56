/**
 * Step 3 of an object's way: write the plaintext to the new bucket, never over anything: every write carries
 * `If-None-Match: *` (a single PUT, or the CompleteMultipartUpload of lib-storage's Upload), S3's SHA-256 checksum so
 * S3 verifies the bytes, the workspace's server-side encryption, and the provenance metadata.
 */
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'stream';
import type { Encryption } from '../../../workspaces/schema';
import { isNoSuchKey } from '../aws/errors';
import { sha256Base64 } from './provenance';

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

export interface NewObject {
  readonly key: string;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly metadata: Record<string, string>;
}

export type WriteResult = { readonly written: true; readonly versionId?: string } | { readonly written: false };

export function isPreconditionFailed(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 412 || e?.name === 'PreconditionFailed' || e?.Code === 'PreconditionFailed';
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

/** One PUT of a whole plaintext held in memory; `written: false` when the key already exists (412). */
export async function putWhole(t: Target, o: NewObject, body: Buffer, sha256Hex: string, signal?: AbortSignal): Promise<WriteResult> {
  try {
    const out = await t.client.send(
      new PutObjectCommand({ ...baseParams(t, o), Body: body, ContentLength: body.length, ChecksumSHA256: sha256Base64(sha256Hex) }),
      { abortSignal: signal },
    );
    return { written: true, versionId: out.VersionId };
  } catch (err) {
    if (isPreconditionFailed(err)) return { written: false };
    throw err;
  }
}

/**
 * A multipart upload of a plaintext stream (lib-storage): at most `queueSize` parts of `partSize` bytes in flight,
 * each part carrying its SHA-256, the completion carrying If-None-Match. If the stream fails (the codec refused the
 * bytes) or the run is aborted, lib-storage aborts the multipart upload: nothing partial is left.
 */
export async function putMultipart(
  t: Target,
  o: NewObject,
  body: Readable,
  size: number | undefined,
  abortController: AbortController,
): Promise<WriteResult> {
  const upload = new Upload({
    client: t.client,
    params: { ...baseParams(t, o), Body: body, ContentLength: size, ChecksumAlgorithm: 'SHA256' },
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
}

export async function headTarget(t: Target, key: string, signal?: AbortSignal): Promise<ExistingObject | undefined> {
  try {
    const out = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }), { abortSignal: signal });
    return { metadata: out.Metadata ?? {}, versionId: out.VersionId, size: out.ContentLength ?? 0 };
  } catch (err) {
    if (isNoSuchKey(err)) return undefined;
    throw err;
  }
}

/** Deletes a key (a delete marker on a versioned bucket): only used to undo this tool's own copy. */
export async function deleteKey(t: Target, key: string): Promise<void> {
  await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
}
