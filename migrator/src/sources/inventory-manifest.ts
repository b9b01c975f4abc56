/**
 * An S3 Inventory report as a key source: its manifest.json names the source bucket, the format, the column schema
 * and the data files (CSV, gzip-compressed, each with the MD5 of its bytes); each data file holds one object (or
 * object version) per row, every field quoted, keys URL-encoded (manifest-key.ts).
 *
 * Refused before anything is copied (a one-line ConfigError): a manifest.json that is not one, a sourceBucket other
 * than the workspace's legacy bucket, a fileFormat other than CSV (ORC and Parquet reports are not supported:
 * configure the inventory with CSV output), a fileSchema without Bucket and Key.
 * Refused while reading (the listing stops with a permanent error, the run exits 1): a data file whose MD5 is not its
 * MD5checksum (it is checked over the whole file before any of its rows is used), a row of another bucket, a row with
 * fewer fields than the schema, a malformed key.
 *
 * Skipped rows, and why:
 * - delete markers (IsDeleteMarker true): nothing to copy, the key is deleted in the legacy bucket;
 * - versions that are not the latest (IsLatest false): the migrator copies each key's current version, and the new
 *   bucket holds one version per key, as with a listing;
 * - keys outside `--prefix`.
 * Objects in archive storage classes are not skipped: their GET fails and they are quarantined with S3's reason, so
 * they show in the report instead of being silently left behind.
 *
 * The cursor is `<file index>:<rows of that file read>`: a rerun starts at that file, verifies its MD5 again, and
 * skips the rows already recorded. The manifest.json is read pinned by its ETag (a changed report is refused), and
 * each data file's rows are read pinned by the ETag of the bytes whose MD5 was verified.
 */
import { createHash } from 'crypto';
import { z } from 'zod';
import { ConfigError } from '../../../workspaces/errors';
import type { ListedObject } from '../objects/records';
import { bareEtag } from '../objects/provenance';
import { csvRecords } from './csv-records';
import { UNKNOWN_SIZE, type KeyPage, type KeySource } from './key-source';
import { decodeManifestKey } from './manifest-key';
import { formatS3Url, manifestRefused, type ManifestObjects, type S3Location } from './manifest-object';
import type { ManifestSourceOptions } from './batch-csv-manifest';
import { readBounded } from '../read-bounded';

const InventoryManifest = z.object({
  sourceBucket: z.string().min(1),
  destinationBucket: z.string().optional(),
  version: z.string().optional(),
  creationTimestamp: z.string().optional(),
  fileFormat: z.string(),
  fileSchema: z.string(),
  files: z.array(
    z.object({
      key: z.string().min(1),
      size: z.number().optional(),
      MD5checksum: z.string().regex(/^[0-9a-fA-F]{32}$/),
    }),
  ),
});
export type InventoryManifest = z.infer<typeof InventoryManifest>;

/** The column of each field this reader uses (undefined: not in the report). */
interface Columns {
  readonly count: number;
  readonly bucket: number;
  readonly key: number;
  readonly isLatest?: number;
  readonly isDeleteMarker?: number;
  readonly size?: number;
  readonly etag?: number;
  readonly lastModified?: number;
}

/** Reads and checks manifest.json (pinned by its ETag). */
export async function readInventoryManifest(
  objects: ManifestObjects,
  at: S3Location,
  etag: string,
  legacyBucket: string,
): Promise<InventoryManifest> {
  const url = formatS3Url(at);
  const { body } = await objects.open(at, { ifMatch: etag });
  // A manifest.json names files, not keys: even a billion-object report's is a few MB.
  const text = await readBounded(
    body,
    64 * 1024 * 1024,
    () => new ConfigError(`${url} is over 64 MiB: not an S3 Inventory manifest.json`),
  );
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString('utf8'));
  } catch {
    throw new ConfigError(`${url} is not JSON: give the manifest.json of an S3 Inventory report`);
  }
  const parsed = InventoryManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `${url} is not an S3 Inventory manifest.json (${issue.path.join('.') || 'top level'}: ${issue.message})`,
    );
  }
  const m = parsed.data;
  if (m.fileFormat !== 'CSV') {
    throw new ConfigError(
      `${url}: fileFormat ${m.fileFormat} is not supported (only CSV); configure the inventory report with CSV output`,
    );
  }
  if (m.sourceBucket !== legacyBucket) {
    throw new ConfigError(
      `${url} is an inventory of bucket "${m.sourceBucket}", not of the workspace's legacy bucket "${legacyBucket}"; give that bucket's report`,
    );
  }
  columnsOf(m.fileSchema, url);
  return m;
}

export function columnsOf(fileSchema: string, url: string): Columns {
  const names = fileSchema.split(',').map((s) => s.trim());
  const at = (n: string): number | undefined => {
    const i = names.indexOf(n);
    return i < 0 ? undefined : i;
  };
  const bucket = at('Bucket');
  const key = at('Key');
  if (bucket === undefined || key === undefined)
    throw new ConfigError(`${url}: fileSchema "${fileSchema}" has no Bucket and Key columns`);
  return {
    count: names.length,
    bucket,
    key,
    isLatest: at('IsLatest'),
    isDeleteMarker: at('IsDeleteMarker'),
    size: at('Size'),
    etag: at('ETag'),
    lastModified: at('LastModifiedDate'),
  };
}

/** The key source of a checked manifest (from readInventoryManifest). */
export function inventoryManifest(
  objects: ManifestObjects,
  at: S3Location,
  etag: string,
  manifest: InventoryManifest,
  opts: ManifestSourceOptions,
): KeySource {
  const url = formatS3Url(at);
  const cols = columnsOf(manifest.fileSchema, url);
  const pageSize = opts.pageSize ?? 1000;
  const prefix = opts.prefix ?? '';
  return {
    describe: `manifest ${url}#${etag}`,
    async *pages({ cursor, signal }): AsyncGenerator<KeyPage> {
      const start = cursor === undefined ? { file: 0, rows: 0 } : parseCursor(cursor, url);
      if (manifest.files.length === 0 || start.file >= manifest.files.length) {
        yield { objects: [], cursor: `${manifest.files.length}:0`, isLast: true };
        return;
      }
      for (let i = start.file; i < manifest.files.length; i++) {
        const file = manifest.files[i];
        // The data files sit beside manifest.json, in the report's destination bucket.
        const where = { bucket: at.bucket, key: file.key };
        const verified = await verifyMd5(objects, where, file.MD5checksum, signal);
        const { body } = await objects.open(where, { ifMatch: verified, signal });
        const skip = i === start.file ? start.rows : 0;
        let rows = skip;
        let page: ListedObject[] = [];
        for await (const { fields, record } of csvRecords(body, { gzip: true, skip })) {
          rows = record;
          const o = inventoryRow(fields, cols, { url: formatS3Url(where), record, bucket: manifest.sourceBucket });
          if (o && o.key.startsWith(prefix)) page.push(o);
          if (page.length >= pageSize) {
            yield { objects: page, cursor: `${i}:${rows}`, isLast: false };
            page = [];
          }
        }
        const last = i === manifest.files.length - 1;
        yield { objects: page, cursor: last ? `${i}:${rows}` : `${i + 1}:0`, isLast: last };
      }
    },
  };
}

/** One row as an object to copy, or undefined for a row skipped (a delete marker, a version not the latest). */
export function inventoryRow(
  fields: string[],
  cols: Columns,
  where: { url: string; record: number; bucket: string },
): ListedObject | undefined {
  if (fields.length < cols.count)
    throw manifestRefused(
      `${where.url} row ${where.record}: ${fields.length} fields, the fileSchema has ${cols.count}`,
    );
  if (fields[cols.bucket] !== where.bucket) {
    throw manifestRefused(
      `${where.url} row ${where.record} names bucket "${fields[cols.bucket]}", not the report's source bucket "${where.bucket}"`,
    );
  }
  if (cols.isDeleteMarker !== undefined && fields[cols.isDeleteMarker] === 'true') return undefined;
  if (cols.isLatest !== undefined && fields[cols.isLatest] === 'false') return undefined;
  let key: string;
  try {
    key = decodeManifestKey(fields[cols.key]);
  } catch {
    throw manifestRefused(`${where.url} row ${where.record}: the key is not well-formed URL encoding`);
  }
  if (!key) throw manifestRefused(`${where.url} row ${where.record}: empty key`);
  const sizeText = cols.size === undefined ? '' : fields[cols.size];
  const size = /^\d+$/.test(sizeText) ? Number(sizeText) : UNKNOWN_SIZE;
  const etag = cols.etag === undefined ? '' : bareEtag(fields[cols.etag]);
  const lastModified = cols.lastModified === undefined ? undefined : fields[cols.lastModified] || undefined;
  return { key, size, etag, ...(lastModified ? { lastModified } : {}) };
}

/** Streams a data file through MD5; returns the ETag of the bytes verified. */
async function verifyMd5(
  objects: ManifestObjects,
  where: S3Location,
  expected: string,
  signal?: AbortSignal,
): Promise<string> {
  const { body, etag } = await objects.open(where, { signal });
  const md5 = createHash('md5');
  for await (const chunk of body) md5.update(chunk as Buffer);
  const got = md5.digest('hex');
  if (got !== expected.toLowerCase()) {
    throw manifestRefused(
      `inventory data file ${formatS3Url(where)}: MD5 ${got} is not the manifest's MD5checksum ${expected.toLowerCase()}; the file is damaged or not this report's`,
    );
  }
  return etag;
}

function parseCursor(cursor: string, url: string): { file: number; rows: number } {
  const m = /^(\d+):(\d+)$/.exec(cursor);
  if (!m) throw manifestRefused(`checkpoint cursor "${cursor}" is not a position in inventory ${url}`);
  return { file: Number(m[1]), rows: Number(m[2]) };
}
