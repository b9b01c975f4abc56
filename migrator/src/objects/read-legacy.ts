/** Step 1 of an object's way: GET the legacy object as a stream, with what must travel with it. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'stream';
import { isNoSuchKey } from '../aws/errors';
import { lightPathOf, userMetadata } from '../aws/light-s3';
import { bareEtag } from './provenance';

export interface LegacyObject {
  readonly body: Readable;
  /** Stored (ciphertext) size. */
  readonly size: number;
  readonly etag: string;
  /** "null" when the legacy bucket is not versioned. */
  readonly versionId: string;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly metadata: Record<string, string>;
}

export interface ReadOptions {
  /** Only this version of the object (412 if it changed). */
  readonly ifMatch?: string;
  readonly signal?: AbortSignal;
  /**
   * The codec that reads the body authenticates every byte of it (codec.ts `authenticated`): a stronger check than
   * S3's response checksum, which the SDK validates by default on AWS (responseChecksumValidation "WHEN_SUPPORTED").
   * The GET may then take the light request path (aws/light-s3.ts) there too, which does not validate it.
   */
  readonly authenticatedBody?: boolean;
}

/** Undefined when the object is gone (404): the app deleted it since the listing. */
export async function readLegacy(
  client: S3Client,
  bucket: string,
  key: string,
  opts: ReadOptions = {},
): Promise<LegacyObject | undefined> {
  const ifMatch = opts.ifMatch ? `"${bareEtag(opts.ifMatch)}"` : undefined;
  try {
    const light = lightPathOf(client);
    if (light && (opts.authenticatedBody || (await light.getObjectAllowed())) && (await light.supports(bucket))) {
      const res = await light.send({
        operation: 'GetObject',
        bucket,
        key,
        headers: { 'if-match': ifMatch },
        signal: opts.signal,
      });
      const h = res.headers;
      return {
        body: res.body,
        size: Number(h['content-length'] ?? 0),
        etag: bareEtag(h.etag),
        versionId: h['x-amz-version-id'] ?? 'null',
        contentType: h['content-type'],
        cacheControl: h['cache-control'],
        contentDisposition: h['content-disposition'],
        metadata: userMetadata(h),
      };
    }
    const out = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        IfMatch: ifMatch,
      }),
      { abortSignal: opts.signal },
    );
    return {
      body: out.Body as Readable,
      size: out.ContentLength ?? 0,
      etag: bareEtag(out.ETag),
      versionId: out.VersionId ?? 'null',
      contentType: out.ContentType,
      cacheControl: out.CacheControl,
      contentDisposition: out.ContentDisposition,
      metadata: out.Metadata ?? {},
    };
  } catch (err) {
    if (isNoSuchKey(err)) return undefined;
    throw err;
  }
}

/**
 * The object's bytes read again, pinned to the ETag first read (a codec with several keys reads a large object twice:
 * codec.ts ObjectContext.reread). If the object changed meanwhile S3 answers 412; if it was deleted, the copy fails
 * as "OperationAborted", a temporary failure: the next attempt finds it changed or gone.
 */
export function rereadLegacy(
  client: S3Client,
  bucket: string,
  key: string,
  etag: string,
  signal?: AbortSignal,
  authenticatedBody?: boolean,
): () => Promise<Readable> {
  return async () => {
    const again = await readLegacy(client, bucket, key, { ifMatch: etag, signal, authenticatedBody });
    if (!again)
      throw Object.assign(new Error(`${key} was deleted from the legacy bucket while it was being read`), {
        name: 'OperationAborted',
      });
    return again.body;
  };
}
