/**
 * The new bucket, as the app uses it: plain objects (S3 encrypts at rest), written with the configured SSE. Raw SDK
 * errors come out of here; the store wraps them. A 404 about the key is `undefined`, never an error.
 */
import { createHash } from 'crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'stream';
import { isNoSuchKey } from '../aws/errors';
import { TOMBSTONE } from '../../../workspaces/object-markers';
import { isTombstone } from '../objects/provenance';
import type { SseParams } from '../objects/write-new';
import { appMetadata, type Photo, type PhotoInfo, type PutOptions, type PutResult } from './photo';

/** What the new side answers for a key that a tombstone holds: the app deleted the photo. */
export const DELETED = Symbol('deleted');

export class NewSide {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly sse: SseParams,
  ) {}

  /** The photo; undefined when the key is missing; DELETED when a tombstone holds it (the app deleted the photo). */
  async get(key: string): Promise<Photo | typeof DELETED | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (isTombstone(out.Metadata)) {
        (out.Body as Readable | undefined)?.destroy();
        return DELETED;
      }
      return { source: 'new', body: out.Body as Readable, ...describe(out) };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<PhotoInfo | typeof DELETED | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if (isTombstone(out.Metadata)) return DELETED;
      return { source: 'new', ...describe(out) };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  /** An unconditional PUT: the app's write is the newest version by definition. S3 checks the SHA-256 we send. */
  async put(key: string, body: Buffer, o: PutOptions): Promise<PutResult> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: o.contentType,
        CacheControl: o.cacheControl,
        ContentDisposition: o.contentDisposition,
        Metadata: appMetadata(o.metadata),
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        ...this.sse,
      }),
    );
    return { etag: out.ETag, versionId: out.VersionId, size: body.length };
  }

  /**
   * Deletes the photo while a migration may still be copying it: a tombstone (see objects/provenance.ts) replaces
   * whatever the key holds, so that no copy in flight can land after the delete. Tagged for the lifecycle rule that
   * expires tombstones.
   */
  async bury(key: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: Buffer.alloc(0),
        ContentLength: 0,
        Metadata: { [TOMBSTONE.metadataKey]: new Date().toISOString() },
        Tagging: `${TOMBSTONE.tagKey}=${TOMBSTONE.tagValue}`,
        ...this.sse,
      }),
    );
  }

  /** Deletes the key (on a versioned bucket: adds a delete marker). Deleting a missing key succeeds. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}

function describe(out: {
  ContentType?: string;
  ContentLength?: number;
  ETag?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
}) {
  return {
    contentType: out.ContentType,
    contentLength: out.ContentLength,
    etag: out.ETag,
    lastModified: out.LastModified,
    metadata: out.Metadata ?? {},
  };
}
