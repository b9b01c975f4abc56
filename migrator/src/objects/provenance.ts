/**
 * Provenance: the user metadata the migrator writes on every copy, so that anyone (the next run, the audit, a person
 * with `aws s3api head-object`) can tell a migrated object from one the app wrote, and what it was copied from.
 *
 * S3 user metadata is at most 2 KB in all (keys and values); ours takes about 250 bytes of it.
 */
export const PROVENANCE = {
  sourceEtag: 'bucketmove-source-etag',
  sourceVersionId: 'bucketmove-source-version-id',
  plaintextSha256: 'bucketmove-plaintext-sha256',
  plaintextSize: 'bucketmove-plaintext-size',
  migratedAt: 'bucketmove-migrated-at',
} as const;

import { TOMBSTONE } from '../../../workspaces/object-markers';

export function isTombstone(meta: Record<string, string> | undefined): boolean {
  return Boolean(meta?.[TOMBSTONE.metadataKey]);
}

/** S3's limit on a PUT's user metadata, keys and values together (UTF-8 bytes). */
export const USER_METADATA_LIMIT = 2048;

export interface Provenance {
  readonly sourceEtag: string;
  /** The legacy object's version id, or "null" when the legacy bucket is not versioned. */
  readonly sourceVersionId: string;
  readonly plaintextSha256: string;
  readonly plaintextSize: number;
  readonly migratedAt: string;
}

/** An ETag without its quotes (S3 returns them quoted). */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** The metadata for the new object: the legacy object's own user metadata, then ours (ours wins on a clash). */
export function provenanceMetadata(
  original: Record<string, string> | undefined,
  p: Provenance,
): Record<string, string> {
  const kept = Object.fromEntries(
    Object.entries(original ?? {}).filter(([k]) => !k.toLowerCase().startsWith('bucketmove-')),
  );
  return {
    ...kept,
    [PROVENANCE.sourceEtag]: bareEtag(p.sourceEtag),
    [PROVENANCE.sourceVersionId]: p.sourceVersionId,
    [PROVENANCE.plaintextSha256]: p.plaintextSha256,
    [PROVENANCE.plaintextSize]: String(p.plaintextSize),
    [PROVENANCE.migratedAt]: p.migratedAt,
  };
}

/** The size S3 counts for user metadata (x-amz-meta- prefix excluded). */
export function metadataBytes(meta: Record<string, string>): number {
  return Object.entries(meta).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

/** Reads provenance back from a HEAD/GET's Metadata (keys arrive lowercased); undefined when the object has none. */
export function readProvenance(meta: Record<string, string> | undefined): Provenance | undefined {
  const m = meta ?? {};
  const sha = m[PROVENANCE.plaintextSha256];
  const etag = m[PROVENANCE.sourceEtag];
  const size = Number(m[PROVENANCE.plaintextSize]);
  if (!sha || !etag || !/^[0-9a-f]{64}$/.test(sha) || !Number.isSafeInteger(size)) return undefined;
  return {
    sourceEtag: etag,
    sourceVersionId: m[PROVENANCE.sourceVersionId] ?? 'null',
    plaintextSha256: sha,
    plaintextSize: size,
    migratedAt: m[PROVENANCE.migratedAt] ?? '',
  };
}

/** The base64 form S3's x-amz-checksum-sha256 takes, from a hex digest. */
export function sha256Base64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
