/**
 * Step 3 for a large object read once (copy-object.ts, where the conditional-write probe found `onePass`): a multipart
 * upload (lib-storage's Upload) of checksum type FULL_OBJECT, algorithm CRC32, completed with `If-None-Match: *`
 * and with the whole object's CRC32, computed by the caller over the plaintext as it streamed by (the same pass
 * that hashes it with SHA-256; hash-plaintext.ts). S3 checks each part against the CRC32 the SDK sends with it,
 * combines the parts' CRCs into the object's, and refuses the completion (400 BadDigest) unless that equals the one
 * given: so the stored object is, end to end, the byte stream the migrator hashed. S3 keeps the checksum with the
 * object (HeadObject with ChecksumMode ENABLED returns it, type FULL_OBJECT), which the audit checks.
 *
 * Source: "Checking object integrity in Amazon S3" (Amazon S3 User Guide): full-object checksums for multipart uploads
 * exist for CRC64NVME, CRC32 and CRC32C (SHA-1 and SHA-256 are composite only), and the full-object value may be given
 * at CompleteMultipartUpload (x-amz-checksum-crc32 with x-amz-checksum-type FULL_OBJECT).
 *
 * The metadata is fixed at CreateMultipartUpload, before a byte is decrypted: such a copy's provenance names its
 * integrity instead of a SHA-256 (objects/provenance.ts).
 */
import { CompleteMultipartUploadCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Crc32 } from '@aws-sdk/checksums/crc';
import type { Readable } from 'stream';
import { putMultipart, type NewObject, type Target, type WriteResult } from './write-new';

/**
 * The SDK's CRC32 (@smithy/core's Crc32Node: Node's native zlib.crc32 where it exists, as on Node 20.15 and later),
 * base64 as S3 takes it. CRC32 rather than CRC64NVME because both this whole-object CRC and the SDK's per-part ones
 * are then native: the SDK's CRC64NVME is JavaScript here (about 0.3 GB/s), computed twice over every byte, which made
 * a pass read once cost about what the second read it saves costs (BENCHMARKS.md, "One large object: one pass
 * against two"). Both types are full-object types S3 verifies at completion.
 */
export class FullObjectChecksum {
  private readonly crc = new Crc32();
  update(chunk: Uint8Array): void {
    this.crc.update(chunk);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.crc.digest()).toString('base64');
  }
}

/** The CRC32 of the concatenated chunks, base64. */
export async function fullObjectCrc32(chunks: Iterable<Uint8Array>): Promise<string> {
  const c = new FullObjectChecksum();
  for (const chunk of chunks) c.update(chunk);
  return c.digest();
}

/**
 * Uploads `body` (at least one part long; lib-storage sends a body that fits one part as one PutObject, which then
 * carries the same checksum) with If-None-Match, parts of `t.partSize`, `t.queueSize` in flight. `fullObjectCrc` is
 * called when the body has ended (lib-storage completes only after the last part): it returns the whole stream's
 * CRC32. A stream that fails, an abort, or a checksum S3 refuses aborts the upload (leavePartsOnError false):
 * nothing partial is left. `written: false` on a 412 (the key exists).
 */
export function putMultipartOnePass(
  t: Target,
  o: NewObject,
  body: Readable,
  size: number | undefined,
  fullObjectCrc: () => string,
  abortController: AbortController,
): Promise<WriteResult> {
  return putMultipart(
    t,
    o,
    body,
    size,
    abortController,
    { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' },
    withCompletionChecksum(t.client, fullObjectCrc),
  );
}

/**
 * `client` for lib-storage, with the whole object's CRC32 set on the request that makes the object
 * (CompleteMultipartUpload, or the single PutObject of a body that fit one part). lib-storage copies its params into
 * every UploadPart too, so the value cannot go into them: it would be taken for each part's checksum.
 */
function withCompletionChecksum(client: S3Client, fullObjectCrc: () => string): S3Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof CompleteMultipartUploadCommand || command instanceof PutObjectCommand)
          (command.input as { ChecksumCRC32?: string }).ChecksumCRC32 = fullObjectCrc();
        return (target.send as (...a: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
}
