/** The default key source: ListObjectsV2 of the legacy bucket under a prefix; the cursor is the last key listed. */
import type { S3Client } from '@aws-sdk/client-s3';
import { listLegacy } from '../objects/list-legacy';
import type { KeyPage, KeySource } from './key-source';

export function bucketListing(
  client: S3Client,
  bucket: string,
  opts: { prefix?: string; pageSize?: number } = {},
): KeySource {
  return {
    describe: 'listing',
    async *pages({ cursor, signal }): AsyncGenerator<KeyPage> {
      let last = cursor;
      for await (const page of listLegacy(client, bucket, {
        prefix: opts.prefix,
        startAfter: cursor,
        pageSize: opts.pageSize,
        signal,
      })) {
        if (page.objects.length) last = page.objects[page.objects.length - 1].key;
        yield { objects: page.objects, cursor: last ?? '', isLast: page.isLast };
      }
    },
  };
}
