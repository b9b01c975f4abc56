/**
 * Copy-on-miss (lazy migration): after a fallback read has decrypted and authenticated a legacy object whole, write
 * that plaintext into the new bucket exactly as the migrator would: `If-None-Match: *` (never over the app's write or
 * anyone's copy), S3's SHA-256 checksum, the configured SSE, and the migrator's provenance metadata (so the migrator
 * and the audit take it for a migrated copy of that legacy version).
 *
 * The race with a delete is handled like the migrator's: the app deletes legacy first, then new. So after writing, the
 * legacy key is checked again; if it is gone, the delete raced this copy, and the copy is removed, but only while the
 * key still holds this very copy (same provenance ETag and, on a versioned bucket, the same version id). So is a copy
 * whose legacy object was rewritten meanwhile (another ETag): a read-both-write-legacy instance writes legacy, and
 * only writes new where new already holds the key, so a late copy of the older version would hide its write. (The
 * runbook turns copy-on-miss on only once every instance is dual-read, when legacy is no longer written; this recheck
 * keeps a mistake from serving an old photo for longer than the copy takes.) The removal is the migrator's
 * (write-new.ts deleteIfStill): a DeleteObject conditional on the copy's ETag (a delete marker on a versioned bucket);
 * deleting a version by id would need s3:DeleteObjectVersion, which nobody is granted.
 */
import { createHash } from 'crypto';
import type { LegacyObject } from '../objects/read-legacy';
import { bareEtag, metadataBytes, provenanceMetadata, USER_METADATA_LIMIT } from '../objects/provenance';
import { deleteIfStill, holdsOwnCopy, putWhole, type Target } from '../objects/write-new';

export type CopyOutcome =
  /** Written; legacy still there afterwards. */
  | 'written'
  /** The key already existed in the new bucket (412): the app's write or another copy. Nothing written. */
  | 'existed'
  /** Written, then removed again: the photo was deleted (or rewritten in legacy) while it was being copied. */
  | 'undone'
  /** Not attempted: the metadata would not fit S3's 2 KB. */
  | 'skipped';

export interface CopyDeps {
  readonly target: Target;
  /** The legacy object's ETag now (HEAD), undefined when it is gone. */
  readonly legacyEtag: (key: string) => Promise<string | undefined>;
  readonly now?: () => Date;
}

export async function copyToNew(
  deps: CopyDeps,
  key: string,
  legacy: Omit<LegacyObject, 'body'>,
  plaintext: Buffer,
): Promise<CopyOutcome> {
  const sha256 = createHash('sha256').update(plaintext).digest('hex');
  const metadata = provenanceMetadata(legacy.metadata, {
    sourceEtag: legacy.etag,
    sourceVersionId: legacy.versionId,
    plaintextSha256: sha256,
    plaintextSize: plaintext.length,
    migratedAt: (deps.now?.() ?? new Date()).toISOString(),
  });
  if (metadataBytes(metadata) > USER_METADATA_LIMIT) return 'skipped';
  const written = await putWhole(
    deps.target,
    {
      key,
      contentType: legacy.contentType,
      cacheControl: legacy.cacheControl,
      contentDisposition: legacy.contentDisposition,
      metadata,
    },
    plaintext,
    sha256,
  );
  if (!written.written) return 'existed';
  const etagNow = await deps.legacyEtag(key);
  if (etagNow !== undefined && bareEtag(etagNow) === bareEtag(legacy.etag)) return 'written';
  await deleteIfStill(deps.target, key, (now) =>
    holdsOwnCopy(now, { sourceEtag: legacy.etag, versionId: written.versionId }),
  );
  return 'undone';
}
