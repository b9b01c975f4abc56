/**
 * The digest of a listing: SHA-256 over every object in listing order, one line per object, each the JSON array
 * `[key, etag, size]` followed by "\n" (JSON escapes any newline or quote in a key, so no two listings share a byte
 * stream). The ETag is bare (no quotes). Written `sha256:<64 hex>`.
 *
 * The audit records the digest of the legacy listing it checked; the teardown gate lists the legacy bucket again and
 * refuses when the digest differs (an object was added, removed or rewritten since the audit).
 */
import { createHash, type Hash } from 'crypto';
import { bareEtag } from '../objects/provenance';

export const LISTING_DIGEST_ALGORITHM = 'sha256 over JSON lines [key, etag, size] in listing (UTF-8 byte) order';

export interface DigestedObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

export class ListingDigest {
  private readonly hash: Hash = createHash('sha256');
  objects = 0;
  bytes = 0;

  add(o: DigestedObject): void {
    this.hash.update(`${JSON.stringify([o.key, bareEtag(o.etag), o.size])}\n`);
    this.objects++;
    this.bytes += o.size;
  }

  /** `sha256:<hex>`; call once, after the last object. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** The digest of a whole listing, streamed. */
export async function digestListing(
  objects: AsyncIterable<DigestedObject>,
): Promise<{ digest: string; objects: number; bytes: number }> {
  const d = new ListingDigest();
  for await (const o of objects) d.add(o);
  return { digest: d.digest(), objects: d.objects, bytes: d.bytes };
}
