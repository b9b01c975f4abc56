/**
 * copyObject's large-object paths, mocked: the multipart path when the second GET (the upload pass) is cut mid-body
 * (the copy fails, to be retried, and its upload is aborted, instead of waiting for bytes that never come); a 412 at
 * completion (AWS semantics); the single streamed PUT (RGW semantics) and its 412; the refusal above 5 GiB there.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { PassThrough, Readable } from 'stream';
import { classify } from '../../migrator/src/migrate/classify';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import { AWS_LARGE_OBJECTS, mockedCopyDeps, offlineS3Client, RGW_LARGE_OBJECTS } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

/** A body that sends `head`, then fails the way a dropped connection does. */
function cutAfter(head: Buffer): Readable {
  const out = new PassThrough();
  out.write(head);
  setTimeout(() => out.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 20);
  return out;
}

test('a GET cut mid-body in the upload pass fails the copy and aborts its multipart upload', async () => {
  const body = Buffer.alloc(12 * MIB, 7);
  const etag = createHash('md5').update(body).digest('hex');
  const source = offlineS3Client();
  const target = offlineS3Client();
  const src = mockClient(source);
  const dst = mockClient(target);
  let gets = 0;
  src.on(GetObjectCommand).callsFake(() => {
    gets++;
    // Pass 1 reads it whole; the upload pass gets 6 MiB (one part and more), then the connection drops.
    const Body = gets === 1 ? Readable.from([body]) : cutAfter(body.subarray(0, 6 * MIB));
    return { Body, ContentLength: body.length, ETag: `"${etag}"` };
  });
  dst
    .on(HeadObjectCommand)
    .rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
  dst.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
  dst.on(UploadPartCommand).resolves({ ETag: '"p"' });
  dst.on(CompleteMultipartUploadCommand).resolves({});
  dst.on(AbortMultipartUploadCommand).resolves({});

  const copy = copyObject(
    { key: 'big.jpg' },
    mockedCopyDeps(source, target, AWS_LARGE_OBJECTS),
    new AbortController().signal,
  );
  await expect(copy).rejects.toThrow(/socket hang up|aborted/i);
  expect(gets).toBe(2);
  expect(dst.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  expect(dst.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
});

describe('objects above the part size, by the path the conditional-write probe chose', () => {
  const body = Buffer.alloc(12 * MIB, 9);
  const etag = createHash('md5').update(body).digest('hex');
  const sha256 = createHash('sha256').update(body).digest();
  const appObject = { ETag: '"app"', ContentLength: 1000, Metadata: { 'uploaded-by': 'the app' } };

  function setup() {
    const source = offlineS3Client();
    const target = offlineS3Client();
    const src = mockClient(source);
    const dst = mockClient(target);
    src
      .on(GetObjectCommand)
      .callsFake(() => ({ Body: Readable.from([body]), ContentLength: body.length, ETag: `"${etag}"` }));
    const notFound = Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    // The key is free when the copy looks before its upload pass; the app's write is there once the write is refused.
    dst.on(HeadObjectCommand).rejectsOnce(notFound).resolves(appObject);
    const deps = (largeObjects: typeof AWS_LARGE_OBJECTS) => mockedCopyDeps(source, target, largeObjects);
    return { src, dst, deps };
  }
  const preconditionFailed = () =>
    Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });

  test('AWS semantics (mocked): multipart, and a 412 at CompleteMultipartUpload is "kept as the app wrote it"', async () => {
    const { dst, deps } = setup();
    dst.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    dst.on(UploadPartCommand).resolves({ ETag: '"p"' });
    dst.on(CompleteMultipartUploadCommand).rejects(preconditionFailed());
    dst.on(AbortMultipartUploadCommand).resolves({});
    const outcome = await copyObject({ key: 'big.jpg' }, deps(AWS_LARGE_OBJECTS), new AbortController().signal);
    expect(outcome).toMatchObject({ state: 'kept-app-version', plaintextSize: body.length });
    expect(dst.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.IfNoneMatch).toBe('*');
    expect(dst.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(dst.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  test('RGW semantics (mocked): one streamed PutObject with If-None-Match, its exact length and the SHA-256 of the hashing pass', async () => {
    const { dst, deps } = setup();
    let sent = Buffer.alloc(0);
    dst.on(PutObjectCommand).callsFake(async (input: { Body: Readable }) => {
      const chunks: Buffer[] = [];
      for await (const c of input.Body) chunks.push(c as Buffer);
      sent = Buffer.concat(chunks);
      return { ETag: '"new"' };
    });
    const outcome = await copyObject({ key: 'big.jpg' }, deps(RGW_LARGE_OBJECTS), new AbortController().signal);
    expect(outcome).toMatchObject({ state: 'copied', plaintextSize: body.length });
    const put = dst.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({
      IfNoneMatch: '*',
      ContentLength: body.length,
      ChecksumSHA256: sha256.toString('base64'),
      ServerSideEncryption: 'AES256',
    });
    expect(sent.equals(body)).toBe(true);
    expect(dst.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  test('RGW semantics (mocked): the single PUT refused with 412 is "kept as the app wrote it"', async () => {
    const { dst, deps } = setup();
    dst.on(PutObjectCommand).rejects(preconditionFailed());
    const outcome = await copyObject({ key: 'big.jpg' }, deps(RGW_LARGE_OBJECTS), new AbortController().signal);
    expect(outcome.state).toBe('kept-app-version');
  });

  test('over the single-PUT limit where multipart could overwrite: quarantined with the reason, nothing written, no second GET', async () => {
    const { src, dst, deps } = setup();
    const small = { ...RGW_LARGE_OBJECTS, maxBytes: 6 * MIB };
    const copy = copyObject({ key: 'big.jpg' }, deps(small), new AbortController().signal);
    await expect(copy).rejects.toMatchObject({ code: 'NoSafeLargeWrite' });
    await expect(copy).rejects.toThrow(
      /the plaintext is 12582912 bytes, over the 6291456-byte single-PUT limit, and this server ignores If-None-Match on CompleteMultipartUpload/,
    );
    expect(classify(await copy.catch((e: unknown) => e)).kind).toBe('permanent');
    expect(src.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(dst.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(dst.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });
});
