/**
 * One legacy object's whole way into the new bucket:
 *   read (GET, streamed) -> decrypt (the codec) -> hash (SHA-256, size) -> write (If-None-Match: *)
 *
 * Small objects (stored size up to the part size) are decrypted into memory and written with one PUT whose SHA-256
 * is known up front. Larger ones go by what the conditional-write probe found at the start of the run
 * (conditional-write-probe.ts, `largeObjects`):
 * - one pass (`onePass`: the server enforces If-None-Match at completion and verifies a full-object checksum given
 *   there, as S3 does): the GET already open is decrypted, hashed (SHA-256 and CRC32) and uploaded in parts as it
 *   streams; S3 completes it only if the parts make up the CRC32 of the stream hashed (objects/write-large.ts).
 *   The provenance then names that checksum instead of the SHA-256, which the checkpoint and report record. An object
 *   whose size the key source did not tell (SizeHooks) keeps two passes: its upload window is reserved between them.
 * - one pass as one PUT (`onePass` on the single-put path: the server ignores If-None-Match at completion but checks
 *   SigV4 signed chunks, as RGW does): the GET already open is decrypted, hashed (SHA-256) and sent as one conditional
 *   PutObject in signed chunks, each checked by the server as it arrives (objects/write-new.ts putSignedChunks). The
 *   provenance says `signed-chunks`; the checkpoint and report record the SHA-256. Only for a plaintext size the codec
 *   knows from the stored size, and the same SizeHooks rule.
 * - two passes otherwise, because the provenance metadata (which then holds the plaintext's SHA-256) must be sent when
 *   the write starts: a hashing pass over the GET that is already open, then an upload pass over a second GET pinned
 *   to the same ETag, which must hash the same or the write fails. The upload pass is a multipart upload where the
 *   server enforces If-None-Match at completion, else one streamed conditional PUT, which cannot overwrite either
 *   (objects above the single-PUT limit are then quarantined: no safe write exists for them).
 *
 * A zero-byte object whose key ends in "/" is a folder marker (what the S3 console creates), never an encrypted photo
 * (every encrypted form of even an empty photo has a header): it is copied as the empty object it is. Any other
 * zero-byte object fails in the codec as truncated and goes to quarantine.
 *
 * A copy is not final until recheck-deletes.ts has seen its legacy key still there after the write (the app may have
 * deleted the photo while it was being copied).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { pipeline } from 'stream/promises';
import { createHash } from 'crypto';
import { EMPTY_SHA256 } from '../aws/sigv4';
import { addAbortSignal, PassThrough, Writable, type Readable } from 'stream';
import type { Codec } from '../codec/codec';
import type { ObjectRow, Outcome } from '../objects/records';
import { PermanentCopyError } from './classify';
import { PlaintextHasher } from './hash-plaintext';
import type { LargeObjectWrite } from './conditional-write-probe';
import {
  isTombstone,
  provenanceMetadata,
  readProvenance,
  metadataBytes,
  USER_METADATA_LIMIT,
  type OnePassWrite,
} from '../objects/provenance';
import { isFolderMarker } from '../objects/folder-marker';
import { pipeInto } from '../pipe-into';
import { readAll } from '../read-bounded';
import { readLegacy, rereadLegacy, type LegacyObject } from '../objects/read-legacy';
import {
  headTarget,
  putMultipart,
  putSignedChunks,
  putStreamed,
  putWhole,
  type NewObject,
  type Target,
  type WriteResult,
} from '../objects/write-new';
import { putMultipartOnePass } from '../objects/write-large';

export interface Source {
  readonly client: S3Client;
  readonly bucket: string;
}

export interface CopyDeps {
  readonly source: Source;
  readonly target: Target;
  readonly codec: Codec;
  /** How objects above the part size are written (the conditional-write probe's choice). */
  readonly largeObjects: LargeObjectWrite;
  readonly now?: () => Date;
}

/**
 * For an object whose size the key source did not tell (a manifest row): `sized` is awaited as soon as the GET answers
 * with the stored size (the caller may fit its memory reservation to it, or refuse the object by throwing: the GET is
 * then let go); `beforeWindow` is awaited before the multipart upload pass, when no stream is open, so the caller can
 * reserve the upload window's memory then (run.ts).
 */
export interface SizeHooks {
  sized(storedSize: number): Promise<void>;
  beforeWindow(storedSize: number): Promise<void>;
}

export async function copyObject(
  row: Pick<ObjectRow, 'key'>,
  deps: CopyDeps,
  signal: AbortSignal,
  hooks?: SizeHooks,
): Promise<Outcome> {
  const { source, target, codec } = deps;
  const authenticatedBody = codec.authenticated === true;
  const legacy = await readLegacy(source.client, source.bucket, row.key, { signal, authenticatedBody });
  if (!legacy) return { state: 'vanished' };
  await hooks?.sized(legacy.size).catch((err: unknown) => {
    legacy.body.destroy();
    throw err;
  });
  // A codec with several keys reads a large object twice (codec.ts ObjectContext.reread): the same ETag again.
  const reread = rereadLegacy(source.client, source.bucket, row.key, legacy.etag, signal, authenticatedBody);
  const migratedAt = (deps.now?.() ?? new Date()).toISOString();
  // The plaintext's size when the format fixes it by the stored size (AES-GCM), else undefined (Fernet).
  const knownPlaintextSize = codec.plaintextSize(legacy.size);

  // null: a one-pass PUT refused (412) before all its plaintext was hashed
  // (test/migrate/copy-object-signed-chunks.test.ts).
  let sha256: string | null;
  let size: number | null;
  let written: WriteResult;
  let obj: NewObject;
  if (isFolderMarker(row.key, legacy.size)) {
    legacy.body.destroy();
    sha256 = EMPTY_SHA256;
    size = 0;
    obj = newObject(row.key, legacy, { sha256, size }, migratedAt);
    written = await putWhole(target, obj, Buffer.alloc(0), sha256, signal);
  } else if (legacy.size <= target.partSize) {
    // One pass: the plaintext is complete and authenticated before a single byte is written. Read whole with a plain
    // loop, not stream.pipeline, whose setup per object (an AbortController, listeners on each stream) was a measurable
    // share of the CPU per object in the bench's profile; unbounded: a codec's plaintext of an object up to the part
    // size, which the memory budget reserved (workspaces/codec-memory.ts). The SHA-256 is taken once, over all of it.
    const decrypted = codec.decrypt(legacy.body, { key: row.key, size: legacy.size, reread });
    const plaintext = await readAll(addAbortSignal(signal, decrypted));
    sha256 = createHash('sha256').update(plaintext).digest('hex');
    size = plaintext.length;
    obj = newObject(row.key, legacy, { sha256, size }, migratedAt);
    written = await putWhole(target, obj, plaintext, sha256, signal);
  } else if (deps.largeObjects.path === 'multipart' && deps.largeObjects.onePass && !hooks) {
    // One pass: decrypt -> SHA-256 + CRC32 -> parts. Nothing is looked up first (a HEAD would not spare a GET here).
    // Only for an object whose size was known before its GET (the caller reserved its whole window then): with
    // SizeHooks the window is reserved between two passes, when no stream is open, so such an object keeps two passes.
    obj = newObject(row.key, legacy, 'full-object-crc32', migratedAt);
    const hasher = pipeInto(
      codec.decrypt(legacy.body, { key: row.key, size: legacy.size, reread }),
      new PlaintextHasher({ fullObjectChecksum: true }),
    );
    // Through a PassThrough: lib-storage takes a body's `size` property for its length when not told one (the hasher's
    // running count, 0 at the start, would make it expect no parts).
    const plaintext = pipeInto(hasher, new PassThrough());
    written = await withAbort(signal, (controller) =>
      putMultipartOnePass(target, obj, plaintext, knownPlaintextSize, () => hasher.fullObjectCrc, controller),
    );
    sha256 = hasher.sha256;
    size = hasher.size;
  } else if (
    deps.largeObjects.path === 'single-put' &&
    deps.largeObjects.onePass &&
    !hooks &&
    knownPlaintextSize !== undefined
  ) {
    // One pass as one PUT in signed chunks: decrypt -> SHA-256 -> chunks that the server checks as they arrive
    // (objects/write-new.ts putSignedChunks). As with the multipart one pass: only for a size known before the GET.
    refuseUnwritable(deps.largeObjects, knownPlaintextSize, legacy.body);
    obj = newObject(row.key, legacy, 'signed-chunks', migratedAt);
    const hasher = pipeInto(
      codec.decrypt(legacy.body, { key: row.key, size: legacy.size, reread }),
      new PlaintextHasher(),
    );
    written = await putSignedChunks(target, obj, hasher, knownPlaintextSize, signal);
    // A server answers If-None-Match once the body is in (RGW 16 measured so; S3 decides at the write's completion);
    // should one answer 412 earlier, the hash of a plaintext not read to its end is unknown, and is recorded as such.
    sha256 = hasher.finished ? hasher.sha256 : null;
    size = hasher.finished ? hasher.size : null;
  } else {
    const large = deps.largeObjects;
    if (knownPlaintextSize !== undefined) refuseUnwritable(large, knownPlaintextSize, legacy.body);
    // Pass 1: hash the plaintext of the GET already open.
    const hasher = new PlaintextHasher();
    await pipeline(codec.decrypt(legacy.body, { key: row.key, size: legacy.size, reread }), hasher, discard(), {
      signal,
    });
    const hashed = { sha256: hasher.sha256, size: hasher.size };
    sha256 = hashed.sha256;
    size = hashed.size;
    refuseUnwritable(large, hashed.size);
    obj = newObject(row.key, legacy, hashed, migratedAt);
    // Not for safety (the write itself is conditional), but to spare the second GET when the key is taken already.
    if (await headTarget(target, row.key, signal)) {
      written = { written: false };
    } else {
      // Pass 2: the same ETag again, decrypted, checked against pass 1, uploaded in parts.
      await hooks?.beforeWindow(legacy.size);
      const again = await readLegacy(source.client, source.bucket, row.key, {
        ifMatch: legacy.etag,
        signal,
        authenticatedBody,
      });
      if (!again) return { state: 'vanished' };
      // pipeInto, not pipe: a GET cut mid-body (or a failed check) must fail the hasher the upload reads, not leave it
      // waiting for bytes that never come.
      const plaintext = pipeInto(
        codec.decrypt(again.body, { key: row.key, size: again.size, reread }),
        new PlaintextHasher({ expect: hashed }),
      );
      written = await withAbort(signal, (controller) =>
        large.path === 'multipart'
          ? putMultipart(target, obj, plaintext, hashed.size, controller)
          : putStreamed(target, obj, plaintext, hashed.size, hashed.sha256, controller.signal),
      );
    }
  }

  const recorded = {
    versionId: legacy.versionId,
    etag: legacy.etag,
    size: legacy.size,
    plaintextSha256: sha256,
    plaintextSize: size,
  };
  if (!written.written) return { ...recorded, ...(await explainExisting(target, row.key, legacy, signal)) };
  return { ...recorded, state: 'copied', newVersionId: written.versionId ?? null };
}

/**
 * An object above the single-PUT limit on a server that would let a multipart upload overwrite: no write of it is
 * safe, so it is quarantined (a person copies it once the app no longer writes the key, or migrates on a server that
 * enforces If-None-Match on CompleteMultipartUpload, where `--retry-quarantined` takes it).
 */
function refuseUnwritable(large: LargeObjectWrite, plaintextSize: number, open?: Readable): void {
  if (large.maxBytes === undefined || plaintextSize <= large.maxBytes) return;
  open?.destroy();
  throw new PermanentCopyError(
    'NoSafeLargeWrite',
    `the plaintext is ${plaintextSize} bytes, over the ${large.maxBytes}-byte single-PUT limit, and this server ignores If-None-Match on CompleteMultipartUpload (probed at start): a multipart upload could overwrite the app's write, so it is not copied`,
  );
}

/**
 * The object to write: its provenance holds the plaintext's SHA-256 and size, or, for a one-pass copy (which knows
 * neither when the write starts), names what vouches for the bytes instead.
 */
function newObject(
  key: string,
  legacy: LegacyObject,
  bytes: { readonly sha256: string; readonly size: number } | OnePassWrite,
  migratedAt: string,
): NewObject {
  const source = { sourceEtag: legacy.etag, sourceVersionId: legacy.versionId, migratedAt };
  const metadata = provenanceMetadata(
    legacy.metadata,
    typeof bytes === 'string'
      ? { ...source, integrity: bytes }
      : { ...source, plaintextSha256: bytes.sha256, plaintextSize: bytes.size },
  );
  if (metadataBytes(metadata) > USER_METADATA_LIMIT) {
    throw new PermanentCopyError(
      'MetadataTooLarge',
      `the legacy object's user metadata plus provenance is ${metadataBytes(metadata)} bytes, over S3's ${USER_METADATA_LIMIT}`,
    );
  }
  return {
    key,
    contentType: legacy.contentType,
    cacheControl: legacy.cacheControl,
    contentDisposition: legacy.contentDisposition,
    metadata,
  };
}

/**
 * The key exists in the new bucket (412): the app's tombstone (it deleted the photo while this copy was in flight),
 * an earlier run's copy of this version, the app's write, or a stale copy.
 */
async function explainExisting(
  target: Target,
  key: string,
  legacy: LegacyObject,
  signal: AbortSignal,
): Promise<Outcome> {
  const existing = await headTarget(target, key, signal);
  if (!existing) {
    // It existed a moment ago and is gone now: deleted by the app. Try the object again from the start.
    throw Object.assign(new Error('the key was deleted from the new bucket while it was being checked'), {
      name: 'OperationAborted',
    });
  }
  if (isTombstone(existing.metadata)) return { state: 'deleted-during-copy', newVersionId: existing.versionId ?? null };
  const prov = readProvenance(existing.metadata);
  if (!prov) return { state: 'kept-app-version', newVersionId: existing.versionId ?? null };
  if (prov.sourceEtag === legacy.etag) {
    // A one-pass copy's provenance names no SHA-256: what this attempt hashed (the same ETag's plaintext) stays.
    return {
      state: 'already-migrated',
      newVersionId: existing.versionId ?? null,
      ...(prov.plaintextSha256 !== undefined
        ? { plaintextSha256: prov.plaintextSha256, plaintextSize: prov.plaintextSize }
        : {}),
    };
  }
  throw new PermanentCopyError(
    'SourceChangedAfterCopy',
    `the new bucket holds a copy of an older legacy version (ETag ${prov.sourceEtag}, now ${legacy.etag}); it is kept, a person must decide`,
  );
}

/** Runs `write` with a controller of its own that `signal` aborts too (lib-storage aborts its upload by it). */
async function withAbort<T>(signal: AbortSignal, write: (controller: AbortController) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await write(controller);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function discard(): Writable {
  return new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
}
