/**
 * judgeKey: the per-key decision of the audit, from what the legacy listing, the new bucket's HEAD and the checkpoint
 * say.
 */
import { judgeKey, needsHead, type HeadResult } from '../../migrator/src/audit/check-key';
import type { MergedKey } from '../../migrator/src/audit/merge-listings';
import type { ObjectRow } from '../../migrator/src/objects/records';
import { TOMBSTONE } from '../../workspaces/object-markers';
import { provenanceMetadata } from '../../migrator/src/objects/provenance';

const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const RUN_START = '2025-06-01T10:00:00.000Z';
const ctx = { lastRunStartedAt: RUN_START };
const legacy = { key: 'k', size: 140, etag: 'e1', lastModified: '2025-05-01T00:00:00.000Z' };
const current = { key: 'k', size: 100, etag: 'n1' };
const row = (over: Partial<ObjectRow> = {}): ObjectRow => ({
  key: 'k',
  size: 140,
  etag: 'e1',
  state: 'copied',
  attempts: 1,
  versionId: 'null',
  errorCode: null,
  errorMessage: null,
  httpStatus: null,
  plaintextSha256: SHA,
  plaintextSize: 100,
  newVersionId: null,
  rechecked: true,
  updatedAt: null,
  ...over,
});
const head = (size: number, meta: Record<string, string>): HeadResult => ({
  found: true,
  head: { size, metadata: meta },
});
const prov = (over: { sha?: string; size?: number; etag?: string } = {}) =>
  provenanceMetadata(
    { 'uploaded-by': 'user-1' },
    {
      sourceEtag: over.etag ?? 'e1',
      sourceVersionId: 'null',
      plaintextSha256: over.sha ?? SHA,
      plaintextSize: over.size ?? 100,
      migratedAt: RUN_START,
    },
  );
const judge = (item: Partial<MergedKey>, h?: HeadResult) =>
  judgeKey({ key: 'k', legacy, current, checkpoint: row(), ...item }, h, ctx);
const kinds = (v: ReturnType<typeof judge>) => v.findings.map((f) => f.kind).sort();

test('a copy that agrees with the legacy listing, its provenance and the checkpoint is verified', () => {
  const v = judge({}, head(100, prov()));
  expect(v).toMatchObject({ outcome: 'verified', findings: [] });
  expect(v.provenance).toMatchObject({ plaintextSha256: SHA, plaintextSize: 100, sourceEtag: 'e1' });
});

test('missing: not in the new listing, or gone by the time of the HEAD', () => {
  expect(kinds(judge({ current: undefined }))).toEqual(['missing']);
  expect(kinds(judge({}, { found: false }))).toEqual(['missing']);
  expect(needsHead({ key: 'k', legacy, current: undefined })).toBe(false);
  expect(needsHead({ key: 'k', legacy, current })).toBe(true);
});

test('size mismatch: the stored object against its provenance, and the provenance against the checkpoint', () => {
  expect(judge({}, head(99, prov())).findings).toEqual([
    { key: 'k', kind: 'size-mismatch', message: 'new object is 99 bytes; its provenance records 100' },
  ]);
  expect(judge({ checkpoint: row({ plaintextSize: 101 }) }, head(100, prov())).findings).toEqual([
    { key: 'k', kind: 'size-mismatch', message: 'provenance records 100 bytes; the checkpoint 101' },
  ]);
});

test('hash mismatch: the provenance and the checkpoint disagree on the plaintext SHA-256', () => {
  expect(judge({}, head(100, prov({ sha: OTHER }))).findings).toEqual([
    { key: 'k', kind: 'hash-mismatch', message: `provenance records sha256 ${OTHER}; the checkpoint ${SHA}` },
  ]);
});

test("the app's own write (no provenance) is a notice, not a problem; also after a copy was made", () => {
  const kept = judge(
    { checkpoint: row({ state: 'kept-app-version', plaintextSha256: null, plaintextSize: null }) },
    head(7, {}),
  );
  expect(kept).toMatchObject({
    outcome: 'app-version',
    findings: [{ kind: 'app-version', message: expect.stringContaining('kept as the app wrote it') }],
  });
  expect(judge({}, head(7, {})).findings[0].message).toBe(
    'the app rewrote the key after it was migrated (no provenance): its write is kept',
  );
});

test("quarantined, failed and pending keys are problems, with the migrator's error", () => {
  const q = judge({
    current: undefined,
    checkpoint: row({ state: 'quarantined', errorCode: 'Codec.auth', errorMessage: 'HMAC mismatch' }),
  });
  expect(q.findings).toEqual([
    { key: 'k', kind: 'quarantined', message: 'checkpoint state quarantined (Codec.auth: HMAC mismatch)' },
    { key: 'k', kind: 'missing', message: 'not in the new bucket' },
  ]);
  expect(kinds(judge({ current: undefined, checkpoint: row({ state: 'failed' }) }))).toEqual(['failed', 'missing']);
  expect(kinds(judge({ current: undefined, checkpoint: row({ state: 'pending' }) }))).toEqual(['missing', 'pending']);
});

test('a legacy key the checkpoint does not know; one modified after the last run started', () => {
  expect(kinds(judge({ checkpoint: undefined }, head(100, prov())))).toEqual(['not-in-checkpoint']);
  const late = { ...legacy, lastModified: '2025-06-01T10:00:01.000Z' };
  expect(judge({ legacy: late, current: undefined, checkpoint: undefined }).findings).toEqual([
    {
      key: 'k',
      kind: 'legacy-written-after-migration',
      message: `legacy object modified at 2025-06-01T10:00:01.000Z, after the last migration run started (${RUN_START})`,
    },
    { key: 'k', kind: 'missing', message: 'not in the new bucket' },
  ]);
  // Without a recorded run there is no line to compare with.
  expect(judgeKey({ key: 'k', legacy: late, current, checkpoint: row() }, head(100, prov()), {}).outcome).toBe(
    'verified',
  );
});

test('a legacy object rewritten after the copy: the copy is of another version (source-changed)', () => {
  const rewritten = { ...legacy, etag: 'e2' };
  expect(judge({ legacy: rewritten, checkpoint: row() }, head(100, prov())).findings.map((f) => f.message)).toEqual([
    'the migrator read legacy ETag e1; the legacy object is now ETag e2',
  ]);
  expect(
    judge({ legacy: rewritten, checkpoint: row({ etag: 'e2' }) }, head(100, prov())).findings.map((f) => f.message),
  ).toEqual(['copied from legacy ETag e1; the legacy object is now ETag e2']);
  expect(kinds(judge({ checkpoint: row({ state: 'vanished' }) }, head(100, prov())))).toEqual(['source-changed']);
});

test('a HEAD that failed after the retries is a problem, not a pass', () => {
  expect(judge({}, { error: 'InternalError, HTTP 500' }).findings).toEqual([
    { key: 'k', kind: 'check-failed', message: 'HEAD of the new object failed: InternalError, HTTP 500' },
  ]);
});

test('keys only in the new bucket or only in the checkpoint are counted, not judged', () => {
  expect(judgeKey({ key: 'n', current }, undefined, ctx)).toEqual({ outcome: 'only-in-new', findings: [] });
  expect(judgeKey({ key: 'c', checkpoint: row({ state: 'vanished' }) }, undefined, ctx)).toEqual({
    outcome: 'checkpoint-only',
    findings: [],
  });
});

test("a copy not yet rechecked against the app's deletes is a problem, in or out of legacy; a copy whose legacy key is gone, a notice", () => {
  expect(kinds(judge({ checkpoint: row({ rechecked: false }) }, head(100, prov())))).toEqual(['unrechecked-copy']);
  expect(judgeKey({ key: 'k', current, checkpoint: row({ rechecked: false }) }, undefined, ctx)).toEqual({
    outcome: 'only-in-new',
    findings: [
      {
        key: 'k',
        kind: 'unrechecked-copy',
        message:
          "the migrator wrote this copy and has not checked it against the app's deletes (a run stopped in between): rerun the migrator",
      },
    ],
  });
  expect(judgeKey({ key: 'k', current, checkpoint: row() }, undefined, ctx).findings).toEqual([
    {
      key: 'k',
      kind: 'copy-without-legacy',
      message: 'deleted from the legacy bucket after it was copied (copied); the new bucket still holds the copy',
    },
  ]);
  expect(
    judgeKey({ key: 'k', current, checkpoint: row({ state: 'kept-app-version' }) }, undefined, ctx).findings,
  ).toEqual([]);
});

test("the app's tombstone: over a legacy key, a notice (the photo was deleted); without legacy, nothing", () => {
  const tomb = head(0, { [TOMBSTONE.metadataKey]: '2025-06-02T00:00:00Z' });
  expect(judge({}, tomb)).toMatchObject({ outcome: 'app-version', findings: [{ kind: 'deleted-by-app' }] });
  // A photo copied, then deleted by the app: the new bucket holds a zero-byte tombstone, not the copy.
  expect(
    judgeKey({ key: 'k', current: { key: 'k', size: 0, etag: 't' }, checkpoint: row() }, undefined, ctx).findings,
  ).toEqual([]);
});

describe('a one-pass copy (provenance integrity full-object-crc32: no SHA-256 in its metadata)', () => {
  const onePass = provenanceMetadata(
    { 'uploaded-by': 'user-1' },
    { sourceEtag: 'e1', sourceVersionId: 'null', migratedAt: RUN_START, integrity: 'full-object-crc32' },
  );
  const withCrc = (size: number, type = 'FULL_OBJECT'): HeadResult => ({
    found: true,
    head: { size, metadata: onePass, checksumCrc32: 'NfcwJA==', checksumType: type },
  });

  test("is verified when S3 holds its FULL_OBJECT CRC32 and its size is the checkpoint's; deep compares get the checkpoint's SHA-256", () => {
    const v = judge({}, withCrc(100));
    expect(v).toMatchObject({ outcome: 'verified', findings: [] });
    expect(v.provenance).toMatchObject({
      sourceEtag: 'e1',
      integrity: 'full-object-crc32',
      plaintextSha256: SHA,
      plaintextSize: 100,
    });
  });

  test('is a problem without a stored full-object checksum (or with a composite one), or of another size than the checkpoint', () => {
    expect(judge({}, head(100, onePass)).findings).toEqual([
      {
        key: 'k',
        kind: 'hash-mismatch',
        message:
          "the provenance says S3 verified this copy's full-object CRC32, but the object carries none (checksum type none)",
      },
    ]);
    expect(kinds(judge({}, withCrc(100, 'COMPOSITE')))).toEqual(['hash-mismatch']);
    expect(judge({}, withCrc(99)).findings).toEqual([
      { key: 'k', kind: 'size-mismatch', message: 'new object is 99 bytes; the checkpoint records 100' },
    ]);
    expect(judge({}, withCrc(99)).outcome).toBe('problem');
  });

  test('still checks the source: a copy of another legacy ETag is source-changed', () => {
    const other = { ...legacy, etag: 'e2' };
    expect(kinds(judge({ legacy: other, checkpoint: row({ etag: 'e2' }) }, withCrc(100)))).toEqual(['source-changed']);
  });

  test("a one-pass copy an earlier version wrote (full-object-crc64nvme) is judged by S3's CRC64NVME, not the CRC32", () => {
    const earlier = { ...onePass, 'bucketmove-integrity': 'full-object-crc64nvme' };
    const crc64 = (checksum: Partial<Record<'checksumCrc32' | 'checksumCrc64nvme', string>>): HeadResult => ({
      found: true,
      head: { size: 100, metadata: earlier, checksumType: 'FULL_OBJECT', ...checksum },
    });
    const v = judge({}, crc64({ checksumCrc64nvme: 'Ne0B5uBcKAM=' }));
    expect(v).toMatchObject({ outcome: 'verified', findings: [] });
    expect(v.provenance).toMatchObject({ integrity: 'full-object-crc64nvme', plaintextSha256: SHA });
    expect(judge({}, crc64({ checksumCrc32: 'NfcwJA==' })).findings).toEqual([
      {
        key: 'k',
        kind: 'hash-mismatch',
        message:
          "the provenance says S3 verified this copy's full-object CRC64NVME, but the object carries none (checksum type FULL_OBJECT)",
      },
    ]);
  });
});

describe('a copy streamed in signed chunks (provenance integrity signed-chunks: no SHA-256, no stored checksum)', () => {
  const chunked = provenanceMetadata(
    { 'uploaded-by': 'user-1' },
    { sourceEtag: 'e1', sourceVersionId: 'null', migratedAt: RUN_START, integrity: 'signed-chunks' },
  );

  test("is verified by its size against the checkpoint's, with no stored checksum asked for; deep gets the checkpoint's SHA-256", () => {
    const v = judge({}, head(100, chunked));
    expect(v).toMatchObject({ outcome: 'verified', findings: [] });
    expect(v.provenance).toMatchObject({
      sourceEtag: 'e1',
      integrity: 'signed-chunks',
      plaintextSha256: SHA,
      plaintextSize: 100,
    });
  });

  test('is a problem at another size than the checkpoint, and a copy of another legacy ETag is source-changed', () => {
    expect(judge({}, head(99, chunked)).findings).toEqual([
      { key: 'k', kind: 'size-mismatch', message: 'new object is 99 bytes; the checkpoint records 100' },
    ]);
    const other = { ...legacy, etag: 'e2' };
    expect(kinds(judge({ legacy: other, checkpoint: row({ etag: 'e2' }) }, head(100, chunked)))).toEqual([
      'source-changed',
    ]);
  });
});
