/**
 * One bucket's objects as a stream, in listing order: ListObjectsV2 pages (the migrator's lister, list-legacy.ts),
 * one page in memory at a time. The merge relies on the order, so an out-of-order key stops the audit instead of
 * silently producing a wrong comparison.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ListedObject } from '../objects/records';
import { listLegacy } from '../objects/list-legacy';
import { compareKeys } from './key-order';

export class ListingOrderError extends Error {
  override readonly name = 'ListingOrderError';
}

export async function* listObjects(
  client: S3Client,
  bucket: string,
  opts: { pageSize?: number; signal?: AbortSignal } = {},
): AsyncGenerator<ListedObject> {
  yield* inKeyOrder(flatten(listLegacy(client, bucket, opts)), bucket);
}

async function* flatten(pages: AsyncIterable<{ objects: ListedObject[] }>): AsyncGenerator<ListedObject> {
  for await (const page of pages) yield* page.objects;
}

/** Passes objects through, failing on a key that does not sort strictly after the one before it. */
export async function* inKeyOrder<T extends { key: string }>(
  objects: AsyncIterable<T> | Iterable<T>,
  what: string,
): AsyncGenerator<T> {
  let previous: string | undefined;
  for await (const o of objects) {
    if (previous !== undefined && compareKeys(previous, o.key) >= 0) {
      throw new ListingOrderError(
        `the listing of ${what} is not in UTF-8 byte order (${JSON.stringify(o.key)} came after ${JSON.stringify(previous)}); the audit cannot compare it`,
      );
    }
    previous = o.key;
    yield o;
  }
}
