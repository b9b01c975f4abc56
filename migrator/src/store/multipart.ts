/**
 * Multipart upload of large photos, passed through to the new bucket: only in the modes whose writes go to the new
 * bucket alone (dual-read, new-only; modes.ts). The modes that write legacy encrypt each photo whole with the codec,
 * which a part-by-part upload cannot do: there the store refuses it (StoreError "failed", code NotImplemented).
 *
 * The upload is created with the configured SSE and the app's metadata (never the migration's provenance keys), so a
 * completed upload is the same kind of object as a `put`. Raw SDK errors come out of here; the store wraps them.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { NewSide } from './new-side';
import { appMetadata, type PutOptions } from './photo';

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export class NewMultipart {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly sse: NewSide['sse'],
  ) {}

  async create(key: string, o: PutOptions): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: o.contentType,
        CacheControl: o.cacheControl,
        ContentDisposition: o.contentDisposition,
        Metadata: appMetadata(o.metadata),
        ...this.sse,
      }),
    );
    return out.UploadId!;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string | undefined> {
    const out = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    return out.ETag;
  }

  async complete(
    key: string,
    uploadId: string,
    parts: readonly UploadedPart[],
  ): Promise<{ etag?: string; versionId?: string }> {
    const Parts: CompletedPart[] = parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag }));
    const out = await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts },
      }),
    );
    return { etag: out.ETag, versionId: out.VersionId };
  }

  async abort(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
  }
}
