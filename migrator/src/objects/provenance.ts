/**
 * Provenance: the user metadata the migrator writes on every copy, so that anyone (the next run, the audit, a person
 * with `aws s3api head-object`) can tell a migrated object from one the app wrote, and what it was copied from.
 *
 * Two forms, by how the copy was written (`integrity`):
 * - `sha256-in-metadata` (every object but one-pass large ones): the plaintext's SHA-256 and size are in the metadata,
 *   computed before the write started (small objects: decrypted in memory; large ones: a hashing pass first).
 * - `full-object-crc32` (a large object written in one pass, objects/write-large.ts): metadata is fixed when the
 *   multipart upload starts, before any byte is decrypted, so it cannot hold the SHA-256. It names the source and says
 *   how the bytes are vouched for instead: S3 holds the object's FULL_OBJECT CRC32 checksum (HeadObject with
 *   ChecksumMode ENABLED), which it checked at CompleteMultipartUpload against the CRC the migrator computed over the
 *   plaintext in the same pass as the SHA-256; that SHA-256 and the size are in the checkpoint and the report. Copies
 *   that an earlier version wrote in one pass say `full-object-crc64nvme` (the same promise with S3's CRC64NVME).
 * - `signed-chunks` (a large object written in one pass as one streamed PutObject, on a server that ignores
 *   If-None-Match on CompleteMultipartUpload but verifies SigV4 signed chunks: objects/write-new.ts putSignedChunks):
 *   metadata is fixed before the first byte, as above. The server checked every chunk of the plaintext against the
 *   SHA-256 the migrator signed for it as the bytes arrived, and stored the object only once all of them had matched
 *   and their count was the declared size; the whole plaintext's SHA-256 and size are in the checkpoint and the report.
 *   Nothing on the object vouches for its bytes afterwards (no stored checksum): the audit checks its size against the
 *   checkpoint, and `--deep` its bytes against the checkpoint's SHA-256.
 *
 * S3 user metadata is at most 2 KB in all (keys and values); ours takes about 250 bytes of it.
 */
export const PROVENANCE = {
  sourceEtag: 'bucketmove-source-etag',
  sourceVersionId: 'bucketmove-source-version-id',
  plaintextSha256: 'bucketmove-plaintext-sha256',
  plaintextSize: 'bucketmove-plaintext-size',
  migratedAt: 'bucketmove-migrated-at',
  integrity: 'bucketmove-integrity',
} as const;

/** What vouches for a copy's bytes (see the module doc). */
export type Integrity = 'sha256-in-metadata' | OnePassIntegrity;
/**
 * A one-pass copy's kinds: `full-object-crc32` is what is written; `full-object-crc64nvme` is what bucketmove wrote
 * before it moved to CRC32 (the same promise with S3's CRC64NVME), still read so such copies stay verifiable.
 */
export type OnePassIntegrity = OnePassWrite | 'full-object-crc64nvme';
/** The kinds a one-pass copy is written with now: multipart with a full-object CRC32, or one PUT in signed chunks. */
export type OnePassWrite = 'full-object-crc32' | 'signed-chunks';
const ONE_PASS_KINDS: readonly string[] = [
  'full-object-crc32',
  'full-object-crc64nvme',
  'signed-chunks',
] satisfies OnePassIntegrity[];

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
  /** Absent on a one-pass copy (`full-object-crc32`, `signed-chunks`): the checkpoint holds it. */
  readonly plaintextSha256?: string;
  /** Absent on a one-pass copy: the object's own length is the plaintext's. */
  readonly plaintextSize?: number;
  readonly migratedAt: string;
  readonly integrity: Integrity;
}

/** What a copy's metadata is made of: a one-pass copy names no SHA-256 or size (they are not known yet). */
export type ProvenanceInput =
  | (Omit<Provenance, 'integrity' | 'plaintextSha256' | 'plaintextSize'> & {
      readonly plaintextSha256: string;
      readonly plaintextSize: number;
    })
  | (Omit<Provenance, 'integrity' | 'plaintextSha256' | 'plaintextSize'> & { readonly integrity: OnePassWrite });

/** An ETag without its quotes (S3 returns them quoted). */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** The metadata for the new object: the legacy object's own user metadata, then ours (ours wins on a clash). */
export function provenanceMetadata(
  original: Record<string, string> | undefined,
  p: ProvenanceInput,
): Record<string, string> {
  const kept = Object.fromEntries(
    Object.entries(original ?? {}).filter(([k]) => !k.toLowerCase().startsWith('bucketmove-')),
  );
  const bytes: Record<string, string> =
    'integrity' in p
      ? { [PROVENANCE.integrity]: p.integrity }
      : { [PROVENANCE.plaintextSha256]: p.plaintextSha256, [PROVENANCE.plaintextSize]: String(p.plaintextSize) };
  return {
    ...kept,
    [PROVENANCE.sourceEtag]: bareEtag(p.sourceEtag),
    [PROVENANCE.sourceVersionId]: p.sourceVersionId,
    ...bytes,
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
  const etag = m[PROVENANCE.sourceEtag];
  if (!etag) return undefined;
  const source = {
    sourceEtag: etag,
    sourceVersionId: m[PROVENANCE.sourceVersionId] ?? 'null',
    migratedAt: m[PROVENANCE.migratedAt] ?? '',
  };
  const integrity = m[PROVENANCE.integrity];
  if (integrity !== undefined && ONE_PASS_KINDS.includes(integrity))
    return { ...source, integrity: integrity as OnePassIntegrity };
  const sha = m[PROVENANCE.plaintextSha256];
  const size = Number(m[PROVENANCE.plaintextSize]);
  if (!sha || !/^[0-9a-f]{64}$/.test(sha) || !Number.isSafeInteger(size)) return undefined;
  return { ...source, integrity: 'sha256-in-metadata', plaintextSha256: sha, plaintextSize: size };
}

/** The base64 form S3's x-amz-checksum-sha256 takes, from a hex digest. */
export function sha256Base64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
