/**
 * copyObject's one-pass path for large objects, with AWS semantics mocked (the server enforces If-None-Match at
 * CompleteMultipartUpload and verifies a FULL_OBJECT CRC32 given there: AWS_ONE_PASS_LARGE_OBJECTS): one GET, the
 * upload typed FULL_OBJECT CRC32, the whole plaintext's CRC32 at completion, the SHA-256 from the same pass in
 * the outcome (checkpoint, report), a provenance that names its integrity instead of a SHA-256; a checksum refused, a
 * GET cut midway and a 412 at completion; an object of unknown size keeps two passes. RGW 16 never takes this path
 * (it ignores full-object checksums: the probe's rig test), so its behaviour is covered by copy-object.test.ts.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { PassThrough, Readable } from 'stream';
import { copyTask } from '../../migrator/src/batch/copy-task';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import { readProvenance } from '../../migrator/src/objects/provenance';
import { fullObjectCrc32 } from '../../migrator/src/objects/write-large';
import { AWS_ONE_PASS_LARGE_OBJECTS, mockedCopyDeps, offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

const body = Buffer.concat([Buffer.alloc(6 * MIB, 1), Buffer.alloc(6 * MIB, 2), Buffer.alloc(123, 3)]);
const etag = createHash('md5').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');
const status = (code: number, name: string) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });

function setup(o: { get?: () => Readable } = {}) {
  const source = offlineS3Client();
  const target = offlineS3Client();
  const src = mockClient(source);
  const dst = mockClient(target);
  src.on(GetObjectCommand).callsFake(() => ({
    Body: o.get?.() ?? Readable.from([body]),
    ContentLength: body.length,
    ETag: `"${etag}"`,
    Metadata: { 'uploaded-by': 'legacy app' },
  }));
  const parts = new Map<number, Buffer>();
  dst.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
  dst.on(UploadPartCommand).callsFake((input: { PartNumber: number; Body: Uint8Array }) => {
    parts.set(input.PartNumber, Buffer.from(input.Body));
    return { ETag: `"p${input.PartNumber}"` };
  });
  dst.on(AbortMultipartUploadCommand).resolves({});
  const deps = mockedCopyDeps(source, target, AWS_ONE_PASS_LARGE_OBJECTS);
  const stored = () => Buffer.concat([...parts.entries()].sort(([a], [b]) => a - b).map(([, b]) => b));
  return { src, dst, deps, stored };
}

test('AWS semantics (mocked): one GET; parts typed FULL_OBJECT CRC32; the completion carries the whole CRC32 and If-None-Match; the SHA-256 of the same pass is recorded', async () => {
  const { src, dst, deps, stored } = setup();
  dst.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v9' });
  const outcome = await copyObject({ key: 'big.jpg' }, deps, new AbortController().signal);
  expect(outcome).toMatchObject({
    state: 'copied',
    plaintextSha256: sha256,
    plaintextSize: body.length,
    newVersionId: 'v9',
  });
  expect(src.commandCalls(GetObjectCommand)).toHaveLength(1);
  expect(dst.commandCalls(HeadObjectCommand)).toHaveLength(0);

  const create = dst.commandCalls(CreateMultipartUploadCommand)[0].args[0].input;
  expect(create).toMatchObject({ ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT', IfNoneMatch: '*' });
  // The provenance names the source and its integrity, not a SHA-256 (unknown when the upload starts).
  expect(create.Metadata).toMatchObject({
    'uploaded-by': 'legacy app',
    'bucketmove-integrity': 'full-object-crc32',
  });
  expect(create.Metadata).not.toHaveProperty('bucketmove-plaintext-sha256');
  expect(readProvenance(create.Metadata)).toMatchObject({ sourceEtag: etag, integrity: 'full-object-crc32' });
  expect(readProvenance(create.Metadata)?.plaintextSha256).toBeUndefined();

  // Each part asks the SDK for its CRC32; none carries the whole object's value.
  for (const c of dst.commandCalls(UploadPartCommand)) {
    expect(c.args[0].input.ChecksumAlgorithm).toBe('CRC32');
    expect(c.args[0].input.ChecksumCRC32).toBeUndefined();
  }
  expect(stored().equals(body)).toBe(true);
  const complete = dst.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input;
  expect(complete).toMatchObject({
    IfNoneMatch: '*',
    ChecksumType: 'FULL_OBJECT',
    ChecksumCRC32: await fullObjectCrc32([body]),
  });
  expect(complete.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
});

test('AWS semantics (mocked): a full-object checksum S3 refuses (400 BadDigest) fails the copy and aborts the upload', async () => {
  const { dst, deps } = setup();
  dst.on(CompleteMultipartUploadCommand).rejects(status(400, 'BadDigest'));
  await expect(copyObject({ key: 'big.jpg' }, deps, new AbortController().signal)).rejects.toThrow('BadDigest');
  expect(dst.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
});

test('a GET cut midway fails the copy before completion and aborts the upload', async () => {
  const { dst, deps } = setup({
    get: () => {
      const out = new PassThrough();
      out.write(body.subarray(0, 6 * MIB));
      setTimeout(() => out.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 20);
      return out;
    },
  });
  dst.on(CompleteMultipartUploadCommand).resolves({});
  await expect(copyObject({ key: 'big.jpg' }, deps, new AbortController().signal)).rejects.toThrow(
    /socket hang up|aborted/i,
  );
  expect(dst.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  expect(dst.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
});

test("AWS semantics (mocked): a 412 at completion is the app's write, kept; the SHA-256 hashed is still recorded", async () => {
  const { dst, deps } = setup();
  dst.on(CompleteMultipartUploadCommand).rejects(status(412, 'PreconditionFailed'));
  dst.on(HeadObjectCommand).resolves({ ETag: '"app"', ContentLength: 10, Metadata: {} });
  const outcome = await copyObject({ key: 'big.jpg' }, deps, new AbortController().signal);
  expect(outcome).toMatchObject({ state: 'kept-app-version', plaintextSha256: sha256, plaintextSize: body.length });
});

test("an earlier one-pass copy of the same ETag (412, its provenance without a SHA-256) is already migrated, with this pass's SHA-256", async () => {
  const { dst, deps } = setup();
  dst.on(CompleteMultipartUploadCommand).rejects(status(412, 'PreconditionFailed'));
  dst.on(HeadObjectCommand).resolves({
    ETag: '"earlier"',
    ContentLength: body.length,
    Metadata: { 'bucketmove-source-etag': etag, 'bucketmove-integrity': 'full-object-crc32' },
  });
  const outcome = await copyObject({ key: 'big.jpg' }, deps, new AbortController().signal);
  expect(outcome).toMatchObject({ state: 'already-migrated', plaintextSha256: sha256, plaintextSize: body.length });
});

test('an object whose size the key source did not tell keeps two passes (its window is reserved between them)', async () => {
  const { src, dst, deps } = setup();
  dst.on(HeadObjectCommand).rejects(status(404, 'NotFound'));
  dst.on(CompleteMultipartUploadCommand).resolves({});
  const hooks = { sized: jest.fn(async () => undefined), beforeWindow: jest.fn(async () => undefined) };
  const outcome = await copyObject({ key: 'big.jpg' }, deps, new AbortController().signal, hooks);
  expect(outcome).toMatchObject({ state: 'copied', plaintextSha256: sha256 });
  expect(src.commandCalls(GetObjectCommand)).toHaveLength(2);
  expect(hooks.beforeWindow).toHaveBeenCalledTimes(1);
  const create = dst.commandCalls(CreateMultipartUploadCommand)[0].args[0].input;
  expect(create.Metadata).toMatchObject({ 'bucketmove-plaintext-sha256': sha256 });
  expect(create.ChecksumAlgorithm).toBe('SHA256');
});

test('the Batch Operations task takes the same one pass where its container probed it (mocked AWS; the delete recheck follows)', async () => {
  const { src, dst, deps } = setup();
  dst.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v1' });
  src.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'big.jpg', ETag: `"${etag}"`, Size: body.length }] });
  const result = await copyTask(
    { taskId: 't1', bucket: 'old', key: 'big.jpg' },
    { ...deps, largeObjects: async () => AWS_ONE_PASS_LARGE_OBJECTS, legacyBucket: 'old' },
    new AbortController().signal,
  );
  expect(result).toMatchObject({
    resultCode: 'Succeeded',
    outcome: { state: 'copied', plaintextSha256: sha256, plaintextSize: body.length },
  });
  expect(src.commandCalls(GetObjectCommand)).toHaveLength(1);
  expect(dst.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.ChecksumType).toBe('FULL_OBJECT');
});
