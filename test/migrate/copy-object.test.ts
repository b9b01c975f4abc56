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
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { PassThrough, pipeline, Readable } from 'stream';
import type { Codec } from '../../migrator/src/codec/codec';
import { copyObject } from '../../migrator/src/migrate/copy-object';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const MIB = 1024 * 1024;

/** A body that sends `head`, then fails the way a dropped connection does. */
function cutAfter(head: Buffer): Readable {
  const out = new PassThrough();
  out.write(head);
  setTimeout(() => out.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 20);
  return out;
}

test('a GET cut mid-body in the upload pass fails the copy and aborts its multipart upload', async () => {
  // Like the real codecs, the output stream fails when the stored bytes do.
  const identity: Codec = { name: 'identity', decrypt: (s) => pipeline(s, new PassThrough(), () => undefined), plaintextSize: (n) => n, encrypt: (b) => b };
  const body = Buffer.alloc(12 * MIB, 7);
  const etag = createHash('md5').update(body).digest('hex');
  const client = () => new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const source = client();
  const target = client();
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
      codec: identity,
    },
    new AbortController().signal,
  );
  await expect(copy).rejects.toThrow(/socket hang up|aborted/i);
  expect(gets).toBe(2);
  expect(dst.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  expect(dst.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
});
