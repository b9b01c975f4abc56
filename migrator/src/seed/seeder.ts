/**
 * Writes planned objects into the legacy bucket the way the legacy app did: the photo's bytes encrypted with the
 * legacy codec (its current key), uploaded with its content type and user metadata; lib-storage `Upload` (one PUT for
 * small objects, multipart from `partSize` up). Objects go up `concurrency` at a time; the first failure stops the
 * run (objects in flight finish) and is reported with the key it happened on.
 */
import { createHash } from 'crypto';
import { Upload } from '@aws-sdk/lib-storage';
import type { Codec } from '../codec/codec';
import type { SideClient } from '../aws/clients';
import { describeAwsError } from '../aws/errors';
import type { ManifestEntry } from './manifest';
import type { PlannedObject } from './plan';
import { contentBytes } from './random';

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

export interface SeedOptions {
  readonly client: SideClient;
  readonly codec: Codec;
  readonly objects: readonly PlannedObject[];
  readonly seed: string;
  readonly concurrency: number;
  /** Multipart part size (and threshold); default 8 MiB, as the AWS CLI and boto3 upload. */
  readonly partSize?: number;
  /** Called after each object is written. */
  readonly onWritten?: (entry: ManifestEntry) => void;
}

export interface SeedResult {
  /** One entry per object written, in plan order. */
  readonly entries: ManifestEntry[];
  readonly plaintextBytes: number;
  readonly storedBytes: number;
  readonly seconds: number;
}

/** A photo's plaintext: deterministic bytes framed as a JPEG (SOI marker first, EOI last) when big enough. */
export function photoBytes(seed: string, o: PlannedObject): Buffer {
  const bytes = contentBytes(seed, o.index, o.size);
  if (o.encrypted && o.size >= 6) {
    bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
    bytes.set([0xff, 0xd9], o.size - 2);
  }
  return bytes;
}

export async function seedLegacy(o: SeedOptions): Promise<SeedResult> {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    throw new RangeError(`concurrency must be an integer >= 1 (got ${o.concurrency})`);
  const started = process.hrtime.bigint();
  const entries: Array<ManifestEntry | undefined> = new Array(o.objects.length);
  let next = 0;
  let failure: SeedError | undefined;

  const writeOne = async (obj: PlannedObject): Promise<ManifestEntry> => {
    const plain = photoBytes(o.seed, obj);
    const stored = obj.encrypted ? o.codec.encrypt(plain, { key: obj.key, size: plain.length }) : plain;
    const upload = new Upload({
      client: o.client.s3,
      params: {
        Bucket: o.client.bucket,
        Key: obj.key,
        Body: stored,
        ContentType: obj.contentType,
        Metadata: obj.metadata,
      },
      partSize: Math.max(5 * 1024 * 1024, o.partSize ?? 8 * 1024 * 1024),
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
    return {
      key: obj.key,
      size: plain.length,
      sha256: createHash('sha256').update(plain).digest('hex'),
      storedSize: stored.length,
      encrypted: obj.encrypted,
      ...(obj.contentType ? { contentType: obj.contentType } : {}),
      metadata: obj.metadata,
      ...(obj.odd ? { odd: obj.odd } : {}),
    };
  };

  const worker = async () => {
    while (!failure && next < o.objects.length) {
      const obj = o.objects[next++];
      try {
        const entry = await writeOne(obj);
        entries[obj.index] = entry;
        o.onWritten?.(entry);
      } catch (err) {
        failure ??= new SeedError(`writing "${obj.key}" to ${o.client.bucket} failed: ${describeAwsError(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, Math.max(1, o.objects.length)) }, worker));
  if (failure) throw failure;

  const written = entries.filter((e): e is ManifestEntry => !!e);
  return {
    entries: written,
    plaintextBytes: written.reduce((n, e) => n + e.size, 0),
    storedBytes: written.reduce((n, e) => n + e.storedSize, 0),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
