/** The source: ListObjectsV2 pages of the legacy bucket, streamed, resumable after a given key. */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ListedObject } from './records';
import { bareEtag } from './provenance';

export interface ListPage {
  readonly objects: ListedObject[];
  readonly isLast: boolean;
}

export async function* listLegacy(
  client: S3Client,
  bucket: string,
  opts: { prefix?: string; startAfter?: string; pageSize?: number; signal?: AbortSignal } = {},
): AsyncGenerator<ListPage> {
  let token: string | undefined;
  for (;;) {
    const out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: opts.prefix || undefined,
        StartAfter: token ? undefined : opts.startAfter,
        ContinuationToken: token,
        MaxKeys: opts.pageSize ?? 1000,
      }),
      { abortSignal: opts.signal },
    );
    const objects = (out.Contents ?? [])
      .filter((o) => o.Key !== undefined)
      .map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: bareEtag(o.ETag),
        lastModified: o.LastModified?.toISOString(),
      }));
    const isLast = !out.IsTruncated || !out.NextContinuationToken;
    yield { objects, isLast };
    if (isLast) return;
    token = out.NextContinuationToken;
  }
}
