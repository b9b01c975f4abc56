/**
 * Listing the photos the way readers see them: one sorted view over the buckets the mode reads (new and legacy in
 * dual-read and read-both-write-legacy), a key held by both listed once (from the new bucket, which readers try
 * first), and tombstones hidden, together with the legacy copy they bury (a deleted photo is not listed).
 *
 * Each side is listed with ListObjectsV2 (the same prefix, delimiter and start-after), page by page as the merge needs
 * it. Keys are compared as S3 orders them, by their UTF-8 bytes ("List results are always returned in UTF-8 binary
 * order", Amazon S3 API Reference, ListObjectsV2). A tombstone is a zero-byte object with the migration's tombstone
 * metadata (objects/provenance.ts); listings carry no metadata, so each zero-byte key of the new bucket is checked
 * with a HEAD (photos are never zero bytes, so these are tombstones and folder markers only).
 *
 * A common prefix (with a delimiter) is listed only when the merged view holds a key under it: one whose keys are all
 * tombstones, or legacy copies buried by them, is a folder of deleted photos and is not listed. The caller decides
 * that with `visible` (the store lists the merged view under the prefix, one key at most, and so HEADs the zero-byte
 * keys it meets there).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { StoreSide } from './errors';

export interface ListOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  /** List keys (and prefixes) after this one: S3's start-after, or a continuation token's last entry. */
  readonly startAfter?: string;
  /** 1 to 1000 (S3's most). */
  readonly maxKeys: number;
}

export interface ListedObject {
  readonly key: string;
  /** The plaintext size (a legacy object's is the codec's, from the stored size). */
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
  readonly source: StoreSide;
}

export interface ListPage {
  readonly objects: ListedObject[];
  readonly prefixes: string[];
  readonly truncated: boolean;
  /** When truncated: the last key or prefix of this page, from which the next page starts (see nextStartAfter). */
  readonly last?: string;
}

/** One side's listing, as the merge reads it. */
export interface ListSource {
  readonly side: StoreSide;
  /** One page of ListObjectsV2 after `startAfter` (the SDK's errors thrown as they come). */
  page(startAfter: string | undefined, maxKeys: number): Promise<{ entries: Entry[]; truncated: boolean }>;
  /** new side only: whether a zero-byte key is a tombstone. */
  buried?(key: string): Promise<boolean>;
  /** legacy side: the plaintext size of a stored size. */
  plainSize?(stored: number): number | undefined;
}

export type Entry =
  | {
      readonly kind: 'object';
      readonly key: string;
      readonly size: number;
      readonly etag?: string;
      readonly lastModified?: Date;
    }
  | { readonly kind: 'prefix'; readonly key: string };

/** The highest code point: appended to a common prefix, S3's start-after skips every key under it. */
const AFTER_PREFIX = '\u{10FFFF}';

/** Where the page after `last` starts: past every key under it when it was a common prefix. */
export function nextStartAfter(last: string, delimiter: string | undefined): string {
  return delimiter && last.endsWith(delimiter) ? last + AFTER_PREFIX : last;
}

/** S3's order: UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** ListObjectsV2 of one bucket, as a ListSource page function. */
export function s3Pages(client: S3Client, bucket: string, o: ListOptions): ListSource['page'] {
  return async (startAfter, maxKeys) => {
    const out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: o.prefix || undefined,
        Delimiter: o.delimiter || undefined,
        StartAfter: startAfter,
        MaxKeys: maxKeys,
      }),
    );
    const entries: Entry[] = [
      ...(out.Contents ?? []).map((c) => ({
        kind: 'object' as const,
        key: c.Key!,
        size: c.Size ?? 0,
        etag: c.ETag,
        lastModified: c.LastModified,
      })),
      ...(out.CommonPrefixes ?? []).map((p) => ({ kind: 'prefix' as const, key: p.Prefix! })),
    ].sort((a, b) => compareKeys(a.key, b.key));
    return { entries, truncated: Boolean(out.IsTruncated) };
  };
}

/** Reads one source in order, a page at a time. */
class Cursor {
  private buf: Entry[] = [];
  private done = false;
  private after: string | undefined;

  constructor(
    readonly src: ListSource,
    startAfter: string | undefined,
    private readonly delimiter: string | undefined,
    private readonly pageSize: number,
  ) {
    this.after = startAfter;
  }

  async peek(): Promise<Entry | undefined> {
    while (!this.buf.length && !this.done) {
      const { entries, truncated } = await this.src.page(this.after, this.pageSize);
      // A start-after past a common prefix may still see the prefix itself listed: never list an entry twice.
      this.buf = entries.filter((e) => this.after === undefined || compareKeys(e.key, this.after) > 0);
      if (entries.length) this.after = nextStartAfter(entries[entries.length - 1].key, this.delimiter);
      this.done = !truncated || !entries.length;
    }
    return this.buf[0];
  }

  shift(): void {
    this.buf.shift();
  }
}

/**
 * The merged page: see the module comment. `visible(prefix)`: whether the merged view holds a key under a common
 * prefix (absent: every prefix listed, as where no source can hold a tombstone).
 */
export async function listMerged(
  sources: readonly ListSource[],
  o: ListOptions,
  visible?: (prefix: string) => Promise<boolean>,
): Promise<ListPage> {
  const pageSize = Math.min(1000, o.maxKeys + 1);
  const cursors = sources.map((s) => new Cursor(s, o.startAfter, o.delimiter, pageSize));
  const objects: ListedObject[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  for (;;) {
    const heads = await Promise.all(cursors.map((c) => c.peek()));
    let min: string | undefined;
    for (const h of heads) if (h && (min === undefined || compareKeys(h.key, min) < 0)) min = h.key;
    if (min === undefined) return { objects, prefixes, truncated: false };
    if (objects.length + prefixes.length >= o.maxKeys) return { objects, prefixes, truncated: true, last };
    // Every source's entry for this key, in the sources' order (new first): the first one readers would find wins.
    const same = cursors.flatMap((c, i) => (heads[i]?.key === min ? [{ c, e: heads[i]! }] : []));
    same.forEach(({ c }) => c.shift());
    const first = same[0];
    last = min;
    if (first.e.kind === 'prefix') {
      if (!visible || (await visible(min))) prefixes.push(min);
      continue;
    }
    if (first.e.size === 0 && first.c.src.buried && (await first.c.src.buried(min))) continue; // deleted: hide both
    const size = first.c.src.plainSize ? (first.c.src.plainSize(first.e.size) ?? first.e.size) : first.e.size;
    objects.push({ key: min, size, etag: first.e.etag, lastModified: first.e.lastModified, source: first.c.src.side });
  }
}
