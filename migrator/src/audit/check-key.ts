/**
 * The per-key checks of the audit, for one key of the merge:
 * - the checkpoint: the migrator finished the key (not quarantined, failed or pending) and read the legacy version
 *   that is there now;
 * - the legacy object is not newer than the last migration run (else someone still writes to legacy);
 * - the new bucket holds the key: a HEAD reads its size and provenance metadata, which must agree with the legacy
 *   object (source ETag) and with the checkpoint (plaintext SHA-256 and size); a one-pass copy (provenance integrity
 *   `full-object-crc32`, or `full-object-crc64nvme` from an earlier version, objects/provenance.ts) names no SHA-256:
 *   it must carry S3's FULL_OBJECT checksum of that algorithm (the HEAD asks for checksums), and its size must be the
 *   checkpoint's; the checkpoint's SHA-256 is what deep compares; a copy streamed in signed chunks (`signed-chunks`)
 *   carries no stored checksum: its size must be the checkpoint's, and deep compares its bytes with the checkpoint's
 *   SHA-256;
 * - without provenance, the key is the app's own write (newer than legacy): a notice, not a problem; so is the app's
 *   tombstone (it deleted the photo) over a key the legacy bucket still holds;
 * - a copy the checkpoint has not yet rechecked against the app's deletes is a problem (the migrator's next run does
 *   it); a copy whose legacy key is gone since is a notice.
 *
 * `judgeKey` is the pure decision; `checkKey` adds the HEAD.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeAwsError, isNoSuchKey } from '../aws/errors';
import { bareEtag, isTombstone, readProvenance, type Provenance } from '../objects/provenance';
import { isProblem, type Finding } from './findings';
import type { MergedKey } from './merge-listings';

/** What a HEAD of the new object returned. */
export interface NewHead {
  readonly size: number;
  readonly metadata: Record<string, string>;
  /** S3's stored checksum, when it has one (HeadObject with ChecksumMode ENABLED). */
  readonly checksumCrc32?: string;
  /** What a one-pass copy of an earlier version carries instead (provenance `full-object-crc64nvme`). */
  readonly checksumCrc64nvme?: string;
  readonly checksumType?: string;
}

export type HeadResult =
  { readonly found: true; readonly head: NewHead } | { readonly found: false } | { readonly error: string };

export interface KeyContext {
  /** When the last migration run started (ISO); legacy objects modified after it are reported. */
  readonly lastRunStartedAt?: string;
}

export type KeyOutcome =
  /** A migrated copy that agrees with the legacy listing, its provenance and the checkpoint. */
  | 'verified'
  /** The app's own write, kept. */
  | 'app-version'
  /** At least one problem. */
  | 'problem'
  /** Only in the new bucket (the app's new photos): nothing to check. */
  | 'only-in-new'
  /** Only in the checkpoint (deleted from legacy since): nothing to check. */
  | 'checkpoint-only';

export interface KeyVerdict {
  readonly outcome: KeyOutcome;
  readonly findings: Finding[];
  /** The provenance of the new object, when it has one (deep comparisons use it). */
  readonly provenance?: Provenance;
}

const UNFINISHED = new Set(['quarantined', 'failed', 'pending']);
const COPIED = new Set(['copied', 'already-migrated']);
const GONE = new Set(['vanished', 'deleted-during-copy']);

/** Whether the key needs a HEAD of the new object to be judged. */
export function needsHead(item: MergedKey): boolean {
  return item.legacy !== undefined && item.current !== undefined;
}

export function judgeKey(item: MergedKey, head: HeadResult | undefined, ctx: KeyContext): KeyVerdict {
  const { key, legacy, checkpoint: cp } = item;
  const findings: Finding[] = [];
  const add = (kind: Finding['kind'], message: string) => findings.push({ key, kind, message });
  if (cp && cp.rechecked === false) {
    add(
      'unrechecked-copy',
      "the migrator wrote this copy and has not checked it against the app's deletes (a run stopped in between): rerun the migrator",
    );
  }
  if (!legacy) {
    // Only when the new object is the copy's size: a photo the app deleted since holds a zero-byte tombstone instead.
    if (
      item.current &&
      cp &&
      COPIED.has(cp.state) &&
      cp.rechecked !== false &&
      item.current.size === cp.plaintextSize
    ) {
      add(
        'copy-without-legacy',
        `deleted from the legacy bucket after it was copied (${cp.state}); the new bucket still holds the copy`,
      );
    }
    return { outcome: item.current ? 'only-in-new' : 'checkpoint-only', findings };
  }

  const lastRun = ctx.lastRunStartedAt ? Date.parse(ctx.lastRunStartedAt) : undefined;
  const modified = legacy.lastModified ? Date.parse(legacy.lastModified) : undefined;
  const newerThanRun = lastRun !== undefined && modified !== undefined && modified > lastRun;
  if (newerThanRun) {
    add(
      'legacy-written-after-migration',
      `legacy object modified at ${legacy.lastModified}, after the last migration run started (${ctx.lastRunStartedAt})`,
    );
  }

  // ---- the checkpoint ----
  if (!cp) {
    if (!newerThanRun)
      add('not-in-checkpoint', 'the migrator never listed this legacy key (rerun the migrator with --relist)');
  } else if (UNFINISHED.has(cp.state)) {
    const why = [cp.errorCode, cp.errorMessage].filter(Boolean).join(': ');
    add(cp.state as 'quarantined' | 'failed' | 'pending', `checkpoint state ${cp.state}${why ? ` (${why})` : ''}`);
  } else if (GONE.has(cp.state)) {
    add(
      'source-changed',
      `the checkpoint records the key as deleted (${cp.state}), but the legacy bucket holds it (ETag ${legacy.etag})`,
    );
  } else if (bareEtag(cp.etag) !== bareEtag(legacy.etag)) {
    add(
      'source-changed',
      `the migrator read legacy ETag ${bareEtag(cp.etag)}; the legacy object is now ETag ${legacy.etag}`,
    );
  }

  // ---- the new bucket ----
  if (!item.current || (head && 'found' in head && !head.found)) {
    add('missing', 'not in the new bucket');
    return { outcome: 'problem', findings };
  }
  if (!head) throw new Error(`judgeKey: ${key} is in both buckets but was not HEAD-checked`);
  if ('error' in head) {
    add('check-failed', `HEAD of the new object failed: ${head.error}`);
    return { outcome: 'problem', findings };
  }
  if (isTombstone(head.head.metadata)) {
    add(
      'deleted-by-app',
      'the app deleted this photo (its tombstone holds the key in the new bucket); the legacy bucket still has it',
    );
    return { outcome: findings.some((f) => isProblem(f.kind)) ? 'problem' : 'app-version', findings };
  }
  const prov = readProvenance(head.head.metadata);
  if (!prov) {
    const copiedBefore = cp && COPIED.has(cp.state);
    add(
      'app-version',
      copiedBefore
        ? 'the app rewrote the key after it was migrated (no provenance): its write is kept'
        : 'the app wrote this key in the new bucket (no provenance): kept as the app wrote it',
    );
    return { outcome: findings.some((f) => isProblem(f.kind)) ? 'problem' : 'app-version', findings };
  }
  if (bareEtag(prov.sourceEtag) !== bareEtag(legacy.etag) && !findings.some((f) => f.kind === 'source-changed')) {
    add('source-changed', `copied from legacy ETag ${prov.sourceEtag}; the legacy object is now ETag ${legacy.etag}`);
  }
  if (prov.integrity !== 'sha256-in-metadata') {
    // A copy in signed chunks: the server checked its chunks as they arrived and keeps nothing to check again.
    if (prov.integrity !== 'signed-chunks') {
      const [algorithm, stored] =
        prov.integrity === 'full-object-crc32'
          ? ['CRC32', head.head.checksumCrc32]
          : ['CRC64NVME', head.head.checksumCrc64nvme];
      if (head.head.checksumType !== 'FULL_OBJECT' || !stored) {
        add(
          'hash-mismatch',
          `the provenance says S3 verified this copy's full-object ${algorithm}, but the object carries none (checksum type ${head.head.checksumType ?? 'none'})`,
        );
      }
    }
    if (cp?.plaintextSize !== null && cp?.plaintextSize !== undefined && cp.plaintextSize !== head.head.size) {
      add('size-mismatch', `new object is ${head.head.size} bytes; the checkpoint records ${cp.plaintextSize}`);
    }
    // What a deep comparison checks the bytes against: the SHA-256 the checkpoint recorded in the copy's one pass.
    const expected: Provenance = {
      ...prov,
      plaintextSha256: cp?.plaintextSha256 ?? undefined,
      plaintextSize: cp?.plaintextSize ?? head.head.size,
    };
    return {
      outcome: findings.some((f) => isProblem(f.kind)) ? 'problem' : 'verified',
      findings,
      provenance: expected,
    };
  }
  if (head.head.size !== prov.plaintextSize) {
    add('size-mismatch', `new object is ${head.head.size} bytes; its provenance records ${prov.plaintextSize}`);
  } else if (cp?.plaintextSize !== null && cp?.plaintextSize !== undefined && cp.plaintextSize !== prov.plaintextSize) {
    add('size-mismatch', `provenance records ${prov.plaintextSize} bytes; the checkpoint ${cp.plaintextSize}`);
  }
  if (cp?.plaintextSha256 && cp.plaintextSha256 !== prov.plaintextSha256) {
    add('hash-mismatch', `provenance records sha256 ${prov.plaintextSha256}; the checkpoint ${cp.plaintextSha256}`);
  }
  return { outcome: findings.some((f) => isProblem(f.kind)) ? 'problem' : 'verified', findings, provenance: prov };
}

/** HEAD of a key in the new bucket; 404 is `found: false`; any other failure (after the SDK's retries) an error. */
export async function headNew(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<HeadResult> {
  try {
    // ChecksumMode: S3 returns the object's stored checksum (SSE-KMS: the caller needs kms:Decrypt, which the writer
    // role the audit reads with has; HeadObject, Amazon S3 API Reference).
    const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), {
      abortSignal: signal,
    });
    return {
      found: true,
      head: {
        size: out.ContentLength ?? 0,
        metadata: out.Metadata ?? {},
        checksumCrc32: out.ChecksumCRC32,
        checksumCrc64nvme: out.ChecksumCRC64NVME,
        checksumType: out.ChecksumType,
      },
    };
  } catch (err) {
    if (signal?.aborted) throw err;
    if (isNoSuchKey(err)) return { found: false };
    return { error: describeAwsError(err) };
  }
}

/** The checks of one key, with the HEAD they need. */
export async function checkKey(
  item: MergedKey,
  target: { client: S3Client; bucket: string },
  ctx: KeyContext,
  signal?: AbortSignal,
): Promise<KeyVerdict> {
  const head = needsHead(item) ? await headNew(target.client, target.bucket, item.key, signal) : undefined;
  return judgeKey(item, head, ctx);
}
