/**
 * copyObject's multipart path when the second GET (the upload pass) is cut mid-body: the copy fails (to be retried)
 * and its upload is aborted, instead of the upload waiting for bytes that never come.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { PassThrough, Readable } from 'stream';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import { AWS_LARGE_OBJECTS, identityCodec, offlineS3Client } from '../helpers/fakes';

const MIB = 1024 * 1024;

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
    const Body =
      gets === 1
        ? Readable.from([body])
        : cutAfter(body.subarray(0, 6 * MIB));
    return { Body, ContentLength: body.length, ETag: `"${etag}"` };
  });
  dst.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
  dst.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
  dst.on(UploadPartCommand).resolves({ ETag: '"p"' });
  dst.on(CompleteMultipartUploadCommand).resolves({});
  dst.on(AbortMultipartUploadCommand).resolves({});

  const copy = copyObject(
    { key: 'big.jpg' },
    {
      source: { client: source, bucket: 'old' },
      target: { client: target, bucket: 'new', sse: { ServerSideEncryption: 'AES256' }, partSize: 5 * MIB, queueSize: 2 },
      codec: identityCodec,
      largeObjects: AWS_LARGE_OBJECTS,
    },
    new AbortController().signal,
  );
  await expect(copy).rejects.toThrow(/socket hang up|aborted/i);
  expect(gets).toBe(2);
  expect(dst.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  expect(dst.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
});
