/**
 * A Batch Operations CSV manifest (format S3BatchOperations_CSV_20180820) as a key source: one object per row,
 * `Bucket,Key` or `Bucket,Key,VersionId`, no header, keys URL-encoded (manifest-key.ts says how `+` reads).
 *
 * - A row naming another bucket than the workspace's legacy bucket is refused: the listing stops with a permanent
 *   error (the run reports it and exits 1); rows before it stay recorded.
 * - The VersionId column is read and not used: the migrator copies the key's current version, as for a listing (the
 *   new bucket holds one version per key), and records the version it read.
 * - Keys outside `--prefix` are skipped.
 * - The rows carry no size or ETag: objects get UNKNOWN_SIZE and etag '' until copied (dispatcher.ts reserves memory
 *   for them once the GET tells the size; the checkpoint records the real size and ETag then).
 *
 * The cursor is the number of rows read so far (`rows:<n>`): a rerun reads the manifest again, pinned by the ETag it
 * had on the first run, and skips that many rows without recording them again.
 */
import type { ListedObject } from '../objects/records';
import { csvRecords } from './csv-records';
import { UNKNOWN_SIZE, type KeyPage, type KeySource } from './key-source';
import { decodeManifestKey } from './manifest-key';
import { formatS3Url, manifestRefused, type ManifestObjects, type S3Location } from './manifest-object';

export interface ManifestSourceOptions {
  /** The legacy bucket's name: rows for another bucket are refused. */
  readonly legacyBucket: string;
  readonly prefix?: string;
  /** Objects per page (default 1000). */
  readonly pageSize?: number;
}

export function batchCsvManifest(
  objects: ManifestObjects,
  at: S3Location,
  etag: string,
  opts: ManifestSourceOptions,
): KeySource {
  const url = formatS3Url(at);
  const pageSize = opts.pageSize ?? 1000;
  const prefix = opts.prefix ?? '';
  return {
    describe: `manifest ${url}#${etag}`,
    async *pages({ cursor, signal }): AsyncGenerator<KeyPage> {
      const skip = cursor === undefined ? 0 : parseRowsCursor(cursor, url);
      const { body } = await objects.open(at, { ifMatch: etag, signal });
      let page: ListedObject[] = [];
      let rows = skip;
      for await (const { fields, record } of csvRecords(body, { gzip: false, skip })) {
        rows = record;
        const key = batchRowKey(fields, record, url, opts.legacyBucket);
        if (key.startsWith(prefix)) page.push({ key, size: UNKNOWN_SIZE, etag: '' });
        if (page.length >= pageSize) {
          yield { objects: page, cursor: `rows:${rows}`, isLast: false };
          page = [];
        }
      }
      yield { objects: page, cursor: `rows:${rows}`, isLast: true };
    },
  };
}

/** The key of one row, checked: 2 or 3 fields, the legacy bucket, a well-formed encoding, not empty. */
export function batchRowKey(fields: string[], record: number, url: string, legacyBucket: string): string {
  if (fields.length < 2 || fields.length > 3) {
    throw manifestRefused(`manifest ${url} row ${record}: ${fields.length} fields, expected Bucket,Key[,VersionId]`);
  }
  if (fields[0] !== legacyBucket) {
    throw manifestRefused(
      `manifest ${url} row ${record} names bucket "${fields[0]}", not the workspace's legacy bucket "${legacyBucket}"; give a manifest of the legacy bucket`,
    );
  }
  let key: string;
  try {
    key = decodeManifestKey(fields[1]);
  } catch {
    throw manifestRefused(`manifest ${url} row ${record}: the key is not well-formed URL encoding`);
  }
  if (!key) throw manifestRefused(`manifest ${url} row ${record}: empty key`);
  return key;
}

function parseRowsCursor(cursor: string, url: string): number {
  const m = /^rows:(\d+)$/.exec(cursor);
  if (!m) throw manifestRefused(`checkpoint cursor "${cursor}" is not a position in manifest ${url}`);
  return Number(m[1]);
}
