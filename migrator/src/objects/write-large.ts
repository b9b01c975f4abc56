/**
 * Step 3 for a large object read once (copy-object.ts, where the conditional-write probe found `onePass`): a multipart
 * upload (lib-storage's Upload) of checksum type FULL_OBJECT, algorithm CRC64NVME, completed with `If-None-Match: *`
 * and with the whole object's CRC64NVME, computed by the caller over the plaintext as it streamed by (the same pass
 * that hashes it with SHA-256; hash-plaintext.ts). S3 checks each part against the CRC64NVME the SDK sends with it,
 * combines the parts' CRCs into the object's, and refuses the completion (400 BadDigest) unless that equals the one
 * given: so the stored object is, end to end, the byte stream the migrator hashed. S3 keeps the checksum with the
 * object (HeadObject with ChecksumMode ENABLED returns it, type FULL_OBJECT), which the audit checks.
 *
 * Source: "Checking object integrity in Amazon S3" (Amazon S3 User Guide): full-object checksums for multipart uploads
 * exist for CRC64NVME, CRC32 and CRC32C (SHA-1 and SHA-256 are composite only), and the full-object value may be given
 * at CompleteMultipartUpload (x-amz-checksum-crc64nvme with x-amz-checksum-type FULL_OBJECT).
 *
 * The metadata is fixed at CreateMultipartUpload, before a byte is decrypted: such a copy's provenance names its
 * integrity instead of a SHA-256 (objects/provenance.ts).
 */
import { CompleteMultipartUploadCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import type { Readable } from 'stream';
import { putMultipart, type NewObject, type Target, type WriteResult } from './write-new';

/** The SDK's CRC64NVME (its native CRT build when loaded, else JavaScript), base64 as S3 takes it. */
export class FullObjectChecksum {
  private readonly crc = new Crc64Nvme();
  update(chunk: Uint8Array): void {
    this.crc.update(chunk);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.crc.digest()).toString('base64');
  }
}

/** The CRC64NVME of the concatenated chunks, base64. */
export async function fullObjectCrc64Nvme(chunks: Iterable<Uint8Array>): Promise<string> {
  const c = new FullObjectChecksum();
  for (const chunk of chunks) c.update(chunk);
  return c.digest();
}

/**
 * Uploads `body` (at least one part long; lib-storage sends a body that fits one part as one PutObject, which then
 * carries the same checksum) with If-None-Match, parts of `t.partSize`, `t.queueSize` in flight. `fullObjectCrc` is
 * called when the body has ended (lib-storage completes only after the last part): it returns the whole stream's
 * CRC64NVME. A stream that fails, an abort, or a checksum S3 refuses aborts the upload (leavePartsOnError false):
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
    { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' },
    withCompletionChecksum(t.client, fullObjectCrc),
  );
}

/**
 * `client` for lib-storage, with the whole object's CRC64NVME set on the request that makes the object
 * (CompleteMultipartUpload, or the single PutObject of a body that fit one part). lib-storage copies its params into
 * every UploadPart too, so the value cannot go into them: it would be taken for each part's checksum.
 */
function withCompletionChecksum(client: S3Client, fullObjectCrc: () => string): S3Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof CompleteMultipartUploadCommand || command instanceof PutObjectCommand)
          (command.input as { ChecksumCRC64NVME?: string }).ChecksumCRC64NVME = fullObjectCrc();
        return (target.send as (...a: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
}
