/**
 * Before a run writes anything: does the new bucket's server refuse a write over an existing key when asked to with
 * `If-None-Match: *`, on a single PutObject and on CompleteMultipartUpload? S3 does both ("Conditional writes");
 * Ceph RGW 16 honours it on PutObject only (and not at all on a versioned bucket; migrator/rig/README.md). The answer
 * decides how objects above the part size are written (`LargeObjectWrite`):
 *
 * - `multipart`: the server enforces it at completion, so lib-storage's multipart upload cannot overwrite; a 412 at
 *   completion means the app wrote the key meanwhile (copy-object.ts explains it like any 412).
 * - `single-put`: it does not, so a multipart upload would overwrite an app write that lands while the parts go up.
 *   Objects up to SINGLE_PUT_LIMIT (5 GiB) go as one conditional PutObject, streamed (write-new.ts putStreamed);
 *   larger ones cannot be written safely there and are quarantined, with a reason that says so.
 *
 * A server that ignores If-None-Match even on PutObject gives no write this tool could make safely: the run is refused.
 *
 * Where large objects go multipart, a second probe asks whether the server verifies a FULL_OBJECT CRC32 checksum
 * given at CompleteMultipartUpload (probeFullObjectChecksum): if it does, a large object is read and decrypted once
 * (migrate/one-pass.ts, `onePass`); if not, twice (a hashing pass, then the upload), as before. S3 does (checksums of
 * type FULL_OBJECT: CRC64NVME, CRC32, CRC32C; "Checking object integrity in Amazon S3", Amazon S3 User Guide); RGW 16
 * accepts the headers and ignores them: a wrong checksum completes, and HeadObject returns none (measured on the rig).
 *
 * Where large objects go as single PUTs, a second probe asks whether the server checks a PutObject streamed as SigV4
 * signed chunks (probeSignedChunks): if it does, a large object is read and decrypted once, its chunks checked by the
 * server as they arrive (objects/write-new.ts putSignedChunks); if not, twice. RGW 16 does (measured on the rig: an
 * altered chunk is refused with 400 XAmzContentSHA256Mismatch and nothing is stored), as S3 does.
 *
 * The probe writes only under PROBE_PREFIX (a fresh key each time), in the new bucket, with the writer's own rights:
 * PutObject, a second conditional PutObject (must be refused), a one-part multipart upload completed with
 * If-None-Match over the key, then cleanup in every case: the upload aborted if still open, the key deleted with
 * If-Match on its ETag (write-new.ts deleteIfStill). On a versioned bucket (AWS) the delete leaves a delete
 * marker over the probe's noncurrent versions, which the bucket's lifecycle expires; listings and the audit never see
 * them. Uploads and keys that an earlier probe left (a killed process) are swept first once an hour old, and the audit
 * leaves the prefix out explicitly (audit/run-audit.ts).
 */
import { randomUUID } from 'crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CreateMultipartUploadCommandInput,
  type UploadPartCommandInput,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { Readable, Transform } from 'stream';
import { ConfigError } from '../../../workspaces/errors';
import { MIN_CHUNK_SIZE, signedChunkedLength } from '../aws/signed-chunks';
import { pipeInto } from '../pipe-into';
import { fullObjectCrc32 } from '../objects/write-large';
import { describeAwsError, httpStatusOf } from '../aws/errors';
import {
  deleteIfStill,
  headTarget,
  isPreconditionFailed,
  putSignedChunks,
  signedChunksAvailable,
  SINGLE_PUT_LIMIT,
  type ExistingObject,
  type Target,
} from '../objects/write-new';

/** The reserved prefix of the probe's keys in the new bucket (no photo key starts with a dot folder of ours). */
export const PROBE_PREFIX = '.bucketmove/probe/';

/**
 * The user metadata every probe object carries: cleanup and the sweep delete only objects that have it, so a photo
 * that happened to live under the prefix (copied from legacy, with provenance) is never taken for a probe's leftover.
 */
const PROBE_MARK = { 'bucketmove-probe': 'conditional-write' } as const;
const isProbeObject = (now: ExistingObject): boolean =>
  now.metadata['bucketmove-probe'] === PROBE_MARK['bucketmove-probe'];

/** What the probe found; `put: 'ignored'` never reaches a run (probeConditionalWrites refuses it). */
export interface ConditionalWriteProbe {
  /** The key it used (gone again unless `cleanedUp` is false). */
  readonly key: string;
  readonly put: 'enforced' | 'ignored';
  readonly completeMultipartUpload: 'enforced' | 'ignored';
  /**
   * Whether a CompleteMultipartUpload with a wrong FULL_OBJECT CRC32 is refused, and one with the right checksum
   * stores it (HeadObject returns it). Probed only where `completeMultipartUpload` is enforced; absent otherwise.
   */
  readonly fullObjectChecksum?: 'verified' | 'ignored';
  /**
   * Whether a PutObject streamed as SigV4 signed chunks stores the decoded bytes, and one with a chunk altered on the
   * wire is refused (probeSignedChunks); 'unavailable' where the client cannot send one (the SDK request path). Probed
   * only where `put` is enforced and `completeMultipartUpload` is not; absent otherwise.
   */
  readonly signedChunks?: 'verified' | 'ignored' | 'unavailable';
  /** Whether the probe's key and upload were removed again. */
  readonly cleanedUp: boolean;
}

/** How objects above the part size are written, and why (the summary and the report name both). */
export interface LargeObjectWrite {
  readonly path: 'multipart' | 'single-put';
  readonly why: string;
  /** Objects above this plaintext size are quarantined (single-put only: SINGLE_PUT_LIMIT). */
  readonly maxBytes?: number;
  /**
   * A large object is read and decrypted once: multipart, where the server verifies a full-object CRC32 at completion
   * (objects/write-large.ts); single-put, where it checks SigV4 signed chunks (objects/write-new.ts putSignedChunks).
   * Otherwise twice (hash, then upload).
   */
  readonly onePass?: boolean;
  readonly probe?: ConditionalWriteProbe;
}

/** The choice for a probe's result (exported for tests and for the Batch Operations function's configuration). */
export function largeObjectWrite(probe: ConditionalWriteProbe): LargeObjectWrite {
  return probe.completeMultipartUpload === 'enforced'
    ? {
        path: 'multipart',
        why: {
          verified:
            'the new bucket refuses a CompleteMultipartUpload with If-None-Match over an existing key and verifies a full-object CRC32 given at completion (probed at start): each is read and decrypted once',
          ignored:
            'the new bucket refuses a CompleteMultipartUpload with If-None-Match over an existing key but does not verify a full-object checksum (probed at start): each is read twice (hash, then upload)',
          unprobed:
            'the new bucket refuses a CompleteMultipartUpload with If-None-Match over an existing key (probed at start)',
        }[probe.fullObjectChecksum ?? 'unprobed'],
        onePass: probe.fullObjectChecksum === 'verified',
        probe,
      }
    : {
        path: 'single-put',
        why: `the new bucket ignores If-None-Match on CompleteMultipartUpload (probed at start), so a multipart upload could overwrite an app write; objects over the ${SINGLE_PUT_LIMIT}-byte single-PUT limit are quarantined; ${
          {
            verified:
              'it checks SigV4 signed chunks as they arrive (probed), so each whose plaintext size the codec tells from its stored size (AES-256-GCM) is read and decrypted once and streamed in signed chunks; others (Fernet, whose padding hides the size until the end) are read twice (hash, then upload)',
            ignored: 'it does not refuse an altered signed chunk (probed), so each is read twice (hash, then upload)',
            unavailable:
              'the SDK request path sends no signed chunks (BUCKETMOVE_S3_HOT_PATH=sdk), so each is read twice (hash, then upload)',
            unprobed: 'each is read twice (hash, then upload)',
          }[probe.signedChunks ?? 'unprobed']
        }`,
        maxBytes: SINGLE_PUT_LIMIT,
        onePass: probe.signedChunks === 'verified',
        probe,
      };
}

/** Leftovers of a killed probe older than this are swept; younger ones may be another run's probe in progress. */
const SWEEP_AFTER_MS = 3600_000;
/** Fresh attempts when an answer was ambiguous (an answer lost and the request retried). */
const ATTEMPTS = 3;

class Ambiguous extends Error {}

/**
 * Probes the target (see the module doc). A refusal to write under the prefix (403) or a server that ignores
 * If-None-Match on PutObject is a ConfigError naming what to fix; other errors are the SDK's (already retried).
 */
export async function probeConditionalWrites(target: Target, signal?: AbortSignal): Promise<ConditionalWriteProbe> {
  try {
    await sweepLeftovers(target, signal);
    for (let attempt = 1; ; attempt++) {
      try {
        const probe = await probeOnce(target, signal);
        if (probe.put === 'ignored') {
          throw new ConfigError(
            `the new bucket "${target.bucket}" does not refuse a PutObject with If-None-Match: * over an existing key (probed at ${probe.key}), so no copy could be written without risking an app write; Ceph RGW ignores it on versioned buckets: use an unversioned bucket there`,
          );
        }
        return probe;
      } catch (err) {
        if (!(err instanceof Ambiguous) || attempt >= ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    if (httpStatusOf(err) === 403) {
      throw new ConfigError(
        `the primary side: the conditional-write probe was refused writing under ${PROBE_PREFIX} in "${target.bucket}" (${describeAwsError(err)}): the writer needs s3:PutObject, s3:AbortMultipartUpload and s3:DeleteObject (with If-Match) there`,
      );
    }
    throw err;
  }
}

async function probeOnce(t: Target, signal?: AbortSignal): Promise<ConditionalWriteProbe> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const body = Buffer.from('bucketmove conditional-write probe\n');
  const opts = { abortSignal: signal };
  const conditionalPut = async (): Promise<boolean> => {
    try {
      await t.client.send(
        new PutObjectCommand({
          Bucket: t.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          IfNoneMatch: '*',
          Metadata: PROBE_MARK,
          ...t.sse,
        }),
        opts,
      );
      return true;
    } catch (err) {
      if (isPreconditionFailed(err)) return false;
      throw err;
    }
  };
  let uploadId: string | undefined;
  let completed = false;
  let result: Omit<ConditionalWriteProbe, 'cleanedUp'> | undefined;
  let failure: unknown;
  try {
    // A 412 on the first PUT of a fresh key: an earlier attempt of this very request was carried out, answer lost.
    await conditionalPut();
    const put = (await conditionalPut()) ? 'ignored' : 'enforced';
    if (put === 'ignored') {
      result = { key, put, completeMultipartUpload: 'ignored' }; // not probed: no write is safe there, the run is refused
    } else {
      uploadId = await startUpload(t, key, {}, signal);
      const part = await uploadOnlyPart(t, key, uploadId, body, {}, signal);
      try {
        await t.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: t.bucket,
            Key: key,
            UploadId: uploadId,
            IfNoneMatch: '*',
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          }),
          opts,
        );
        completed = true;
        result = { key, put, completeMultipartUpload: 'ignored' };
      } catch (err) {
        if (isPreconditionFailed(err)) {
          result = {
            key,
            put,
            completeMultipartUpload: 'enforced',
            fullObjectChecksum: await probeFullObjectChecksum(t, signal),
          };
        } else if (httpStatusOf(err) === 404) {
          // NoSuchUpload: an earlier attempt completed it, answer lost. Only a multipart ETag ("...-1") says so for
          // sure.
          const now = await headTarget(t, key, signal);
          if (!now?.etag?.endsWith('-1"')) throw new Ambiguous('the probe upload vanished');
          completed = true;
          result = { key, put, completeMultipartUpload: 'ignored' };
        } else if (httpStatusOf(err) === 409) {
          throw new Ambiguous('a conflicting request on the probe key'); // ConditionalRequestConflict: try a fresh key
        } else {
          throw err;
        }
      }
    }
  } catch (err) {
    failure = err;
  }
  const cleanedUp = await cleanUp(t, key, completed ? undefined : uploadId, signal);
  if (failure) throw failure;
  const found = result!;
  return found.put === 'enforced' && found.completeMultipartUpload === 'ignored'
    ? { ...found, signedChunks: await probeSignedChunks(t, signal), cleanedUp }
    : { ...found, cleanedUp };
}

/**
 * Two PutObjects in SigV4 signed chunks of 8 KiB (S3's smallest) on fresh keys, each of a body of two chunks: the first
 * must store the decoded bytes (its size is the body's, not the framing's: a server that does not speak aws-chunked
 * would keep the framing), the second, with one byte of its last chunk altered on the wire after signing, must be
 * refused and leave no object. 'verified' only if both hold ('unavailable' where the client cannot send signed chunks).
 * Both keys are deleted again in every case (cleanUp); the sweep takes what a killed process left.
 */
export async function probeSignedChunks(
  t: Target,
  signal?: AbortSignal,
): Promise<'verified' | 'ignored' | 'unavailable'> {
  if (!(await signedChunksAvailable(t))) return 'unavailable';
  const body = Buffer.alloc(MIN_CHUNK_SIZE + 100, 'bucketmove signed-chunk probe\n');
  const keys = [`${PROBE_PREFIX}${randomUUID()}`, `${PROBE_PREFIX}${randomUUID()}`];
  const put = (key: string, onWire?: (framed: Readable) => Readable) =>
    putSignedChunks(t, { key, metadata: PROBE_MARK }, Readable.from([body]), body.length, signal, {
      chunkSize: MIN_CHUNK_SIZE,
      onWire,
    });
  try {
    const good = await put(keys[0]);
    if (!good.written) throw new Ambiguous('a fresh probe key exists already');
    if ((await headTarget(t, keys[0], signal))?.size !== body.length) return 'ignored';
    // The last byte of the last data chunk: the framing ends with its "\r\n" and the terminal chunk.
    const framed = signedChunkedLength(body.length, MIN_CHUNK_SIZE);
    const at = framed - signedChunkedLength(0, MIN_CHUNK_SIZE) - 2 - 1;
    try {
      await put(keys[1], (wire) => pipeInto(wire, flipByteAt(at)));
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === undefined || status < 400 || status >= 500 || status === 412) throw err;
      return (await headTarget(t, keys[1], signal)) ? 'ignored' : 'verified';
    }
    return 'ignored';
  } finally {
    for (const key of keys) await cleanUp(t, key, undefined, signal);
  }
}

/** A pass-through that flips every bit of the byte at offset `at`. */
function flipByteAt(at: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (at >= seen && at < seen + chunk.length) {
        const altered = Buffer.from(chunk);
        altered[at - seen] ^= 0xff;
        chunk = altered;
      }
      seen += chunk.length;
      done(null, chunk);
    },
  });
}

/**
 * On a fresh key: a multipart upload of type FULL_OBJECT CRC32, one part, completed first with a wrong full-object
 * checksum (must be refused: 400), then with the right one (must succeed and be stored: HeadObject with ChecksumMode
 * returns it, type FULL_OBJECT). 'ignored' unless both hold. The upload is aborted and the key deleted again in every
 * case (cleanUp); a failure of the cleanup itself is not the probe's concern here (the sweep takes leftovers).
 */
export async function probeFullObjectChecksum(t: Target, signal?: AbortSignal): Promise<'verified' | 'ignored'> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const body = Buffer.from('bucketmove full-object checksum probe\n');
  const opts = { abortSignal: signal };
  const right = await fullObjectCrc32([body]);
  const wrong = Buffer.from(right, 'base64').map((b) => b ^ 0xff);
  let uploadId: string | undefined;
  try {
    uploadId = await startUpload(t, key, { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }, signal);
    const part = await uploadOnlyPart(t, key, uploadId, body, { ChecksumAlgorithm: 'CRC32' }, signal);
    const complete = (checksum: string) =>
      t.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: t.bucket,
          Key: key,
          UploadId: uploadId,
          IfNoneMatch: '*',
          ChecksumType: 'FULL_OBJECT',
          ChecksumCRC32: checksum,
          MultipartUpload: {
            Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }],
          },
        }),
        opts,
      );
    try {
      await complete(Buffer.from(wrong).toString('base64'));
      uploadId = undefined;
      return 'ignored'; // completed with a checksum that does not match its bytes
    } catch (err) {
      if (httpStatusOf(err) !== 400) throw err;
    }
    await complete(right);
    uploadId = undefined;
    const head = await t.client.send(
      new HeadObjectCommand({ Bucket: t.bucket, Key: key, ChecksumMode: 'ENABLED' }),
      opts,
    );
    return head.ChecksumCRC32 === right && head.ChecksumType === 'FULL_OBJECT' ? 'verified' : 'ignored';
  } finally {
    await cleanUp(t, key, uploadId, signal);
  }
}

/** Starts a multipart upload of a probe object (marked, with the target's SSE); its UploadId. */
async function startUpload(
  t: Target,
  key: string,
  checksum: Pick<CreateMultipartUploadCommandInput, 'ChecksumAlgorithm' | 'ChecksumType'>,
  signal?: AbortSignal,
): Promise<string> {
  const { UploadId } = await t.client.send(
    new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: key, Metadata: PROBE_MARK, ...checksum, ...t.sse }),
    { abortSignal: signal },
  );
  if (!UploadId) throw new Error('the new bucket started a multipart upload without an UploadId');
  return UploadId;
}

/** Uploads `body` as part 1, the only part, of a probe's upload. */
function uploadOnlyPart(
  t: Target,
  key: string,
  uploadId: string,
  body: Buffer,
  checksum: Pick<UploadPartCommandInput, 'ChecksumAlgorithm'>,
  signal?: AbortSignal,
): Promise<UploadPartCommandOutput> {
  return t.client.send(
    new UploadPartCommand({
      Bucket: t.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: 1,
      Body: body,
      ContentLength: body.length,
      ...checksum,
    }),
    { abortSignal: signal },
  );
}

/** Aborts the probe's upload (if still open) and deletes its key if it holds a probe object; false when that failed. */
async function cleanUp(t: Target, key: string, uploadId: string | undefined, signal?: AbortSignal): Promise<boolean> {
  let clean = true;
  if (uploadId) {
    try {
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: signal,
      });
    } catch (err) {
      if (httpStatusOf(err) !== 404) clean = false;
    }
  }
  try {
    await deleteIfStill(t, key, isProbeObject, signal);
  } catch {
    clean = false;
  }
  return clean;
}

/** Uploads and keys under the prefix that a killed probe left, once they are over an hour old. */
async function sweepLeftovers(t: Target, signal?: AbortSignal): Promise<void> {
  const before = Date.now() - SWEEP_AFTER_MS;
  // Both listings at once (one round trip at every start); the uploads are cleaned up first, as their keys may be
  // among those listed.
  const [uploads, keys] = await Promise.all([
    t.client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: PROBE_PREFIX }), { abortSignal: signal }),
    t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: PROBE_PREFIX }), { abortSignal: signal }),
  ]);
  for (const u of uploads.Uploads ?? []) {
    if (u.Key && u.UploadId && (u.Initiated?.getTime() ?? Infinity) < before)
      await cleanUp(t, u.Key, u.UploadId, signal);
  }
  for (const o of keys.Contents ?? []) {
    if (o.Key && (o.LastModified?.getTime() ?? Infinity) < before) await cleanUp(t, o.Key, undefined, signal);
  }
}
