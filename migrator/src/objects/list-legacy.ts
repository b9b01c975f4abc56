/** The source: ListObjectsV2 pages of the legacy bucket, streamed, resumable after a given key. */
import type { S3Client } from '@aws-sdk/client-s3';
import { listObjectsPage } from '../aws/list-objects';
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
    const out = await listObjectsPage(client, {
      bucket,
      prefix: opts.prefix,
      startAfter: token ? undefined : opts.startAfter,
      continuationToken: token,
      maxKeys: opts.pageSize ?? 1000,
      signal: opts.signal,
    });
    const objects = out.contents.map((o) => ({
      key: o.key,
      size: o.size,
      etag: bareEtag(o.etag),
      lastModified: o.lastModified,
    }));
    const isLast = !out.isTruncated || !out.nextContinuationToken;
    yield { objects, isLast };
    if (isLast) return;
    token = out.nextContinuationToken;
  }
}
