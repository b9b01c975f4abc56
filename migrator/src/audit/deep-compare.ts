/**
 * `--deep` and `--sample N`: re-read a migrated key on both sides and compare what the bytes hash to. The new object is
 * hashed as stored; the legacy object is read, decrypted with the workspace's codec (which fails before the end on
 * bytes that do not authenticate) and hashed; a folder marker (zero bytes, key ending in "/") is hashed as stored, as
 * the migrator copies it. Both must hash to the provenance's plaintext SHA-256 and size (for a one-pass copy, whose
 * metadata names none, the checkpoint's, as check-key.ts hands them on; with neither, to each other). Bytes stream
 * through a hash: memory per key is the codec's (a few chunks; with several keys a small object whole, or a large one
 * read twice, pinned to its ETag).
 */
import { createHash } from 'crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'stream';
import { Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { describeAwsError, httpStatusOf } from '../aws/errors';
import { CodecError, type Codec } from '../codec/codec';
import { isFolderMarker } from '../objects/folder-marker';
import type { Provenance } from '../objects/provenance';
import { readLegacy, rereadLegacy } from '../objects/read-legacy';
import type { Finding } from './findings';

export interface DeepDeps {
  readonly legacy: { readonly client: S3Client; readonly bucket: string };
  readonly current: { readonly client: S3Client; readonly bucket: string };
  readonly codec: Codec;
}

export interface DeepResult {
  readonly findings: Finding[];
  /** What the bytes hashed to (undefined where a side could not be read). */
  readonly newSha256?: string;
  readonly legacySha256?: string;
}

interface Hashed {
  readonly sha256: string;
  readonly size: number;
}

async function hashStream(body: Readable, signal?: AbortSignal): Promise<Hashed> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    body,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done();
      },
    }),
    { signal },
  );
  return { sha256: hash.digest('hex'), size };
}

async function readNew(deps: DeepDeps, key: string, signal?: AbortSignal): Promise<Hashed | undefined> {
  try {
    const out = await deps.current.client.send(new GetObjectCommand({ Bucket: deps.current.bucket, Key: key }), {
      abortSignal: signal,
    });
    return await hashStream(out.Body as Readable, signal);
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw err;
  }
}

async function readLegacyPlaintext(
  deps: DeepDeps,
  key: string,
  etag: string,
  signal?: AbortSignal,
): Promise<Hashed | undefined> {
  const legacy = await readLegacy(deps.legacy.client, deps.legacy.bucket, key, { ifMatch: etag, signal });
  if (!legacy) return undefined;
  // A folder marker is stored as is, never encrypted (the migrator copies it as the empty object it is).
  if (isFolderMarker(key, legacy.size)) return hashStream(legacy.body, signal);
  const reread = rereadLegacy(deps.legacy.client, deps.legacy.bucket, key, legacy.etag, signal);
  return hashStream(deps.codec.decrypt(legacy.body, { key, size: legacy.size, reread }), signal);
}

function failure(err: unknown): string {
  if (err instanceof CodecError) return `the legacy bytes do not decrypt (${err.kind}: ${err.message})`;
  if (httpStatusOf(err) === 412) return 'the legacy object changed while it was being read (ETag no longer matches)';
  return describeAwsError(err);
}

/** Reads both sides of a migrated key and compares their hashes with the provenance. */
export async function deepCompare(
  key: string,
  legacyEtag: string,
  prov: Provenance,
  deps: DeepDeps,
  signal?: AbortSignal,
): Promise<DeepResult> {
  const findings: Finding[] = [];
  const add = (kind: Finding['kind'], message: string) => findings.push({ key, kind, message });
  const [fresh, old] = await Promise.allSettled([
    readNew(deps, key, signal),
    readLegacyPlaintext(deps, key, legacyEtag, signal),
  ]);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  let newSha256: string | undefined;
  let legacySha256: string | undefined;

  if (fresh.status === 'rejected') add('check-failed', `deep read of the new object failed: ${failure(fresh.reason)}`);
  else if (!fresh.value) add('missing', 'deleted from the new bucket during the audit');
  else {
    newSha256 = fresh.value.sha256;
    if (prov.plaintextSha256 === undefined) {
      // A one-pass copy without a checkpoint's SHA-256 to check against: the two sides are compared with each other.
      if (old.status === 'fulfilled' && old.value && old.value.sha256 !== fresh.value.sha256)
        add(
          'hash-mismatch',
          `deep: the new object's bytes hash to ${fresh.value.sha256}; the legacy plaintext to ${old.value.sha256}`,
        );
    } else {
      if (fresh.value.size !== prov.plaintextSize)
        add(
          'size-mismatch',
          `deep: the new object has ${fresh.value.size} bytes; provenance records ${prov.plaintextSize}`,
        );
      if (fresh.value.sha256 !== prov.plaintextSha256)
        add(
          'hash-mismatch',
          `deep: the new object's bytes hash to ${fresh.value.sha256}; provenance records ${prov.plaintextSha256}`,
        );
    }
  }

  if (old.status === 'rejected') add('check-failed', `deep read of the legacy object failed: ${failure(old.reason)}`);
  else if (!old.value) add('check-failed', 'deep: the legacy object was deleted during the audit');
  else {
    legacySha256 = old.value.sha256;
    if (
      prov.plaintextSha256 !== undefined &&
      (old.value.sha256 !== prov.plaintextSha256 || old.value.size !== prov.plaintextSize)
    ) {
      add(
        'hash-mismatch',
        `deep: the legacy plaintext hashes to ${old.value.sha256} (${old.value.size} bytes); provenance records ${prov.plaintextSha256} (${prov.plaintextSize} bytes)`,
      );
    }
  }
  return { findings, newSha256, legacySha256 };
}
