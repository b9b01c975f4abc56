/**
 * Where a migration run gets the keys it copies: a listing of the legacy bucket (bucket-listing.ts), or a manifest
 * (an S3 Inventory report or a Batch Operations CSV) read from S3 instead of listing. Either way the keys arrive as
 * pages, each with an opaque cursor the checkpoint stores, so a rerun resumes after the last page recorded.
 *
 * A source yields pages lazily: memory holds one page (and whatever the source's reader buffers), never the key set.
 */
import type { ListedObject } from '../objects/records';

export interface KeyPage {
  /** The page's objects. `size` is -1 and `etag` '' when the source does not say (a Bucket,Key CSV). */
  readonly objects: ListedObject[];
  /** Where to resume after this page (opaque to everyone but the source that made it). */
  readonly cursor: string;
  readonly isLast: boolean;
}

export interface KeySource {
  /** What the source is, for the checkpoint's identity and the report (e.g. "listing" or "manifest s3://b/k#etag"). */
  readonly describe: string;
  /** The pages after `cursor` (from the start when undefined). */
  pages(opts: { cursor?: string; signal?: AbortSignal }): AsyncGenerator<KeyPage>;
}

/** Size of a row whose source did not give one: the run reserves memory for it once the GET has told its size. */
export const UNKNOWN_SIZE = -1;
