/**
 * A bucket in memory behind an offline S3 client (aws-sdk-client-mock answers its commands, never the network), for
 * unit tests of the store's rules: GET, HEAD, PUT (with `If-None-Match: *`), DELETE and HeadBucket, with S3's answers
 * for a missing key (404 NoSuchKey / NotFound) and an existing one under `If-None-Match` (412), as AWS documents them
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). One object per key: no versions.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { offlineS3Client } from './fakes';

export interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType?: string;
  readonly metadata: Record<string, string>;
  readonly tagging?: string;
}

export interface MemoryBucket {
  readonly client: S3Client;
  readonly objects: Map<string, StoredObject>;
}

const s3Error = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

export function memoryBucket(): MemoryBucket {
  const client = offlineS3Client();
  const objects = new Map<string, StoredObject>();
  const mock = mockClient(client);
  const found = (key: string | undefined, missing: string): StoredObject => {
    const o = objects.get(key ?? '');
    if (!o) throw s3Error(missing, 404);
    return o;
  };
  const describe = (o: StoredObject) => ({
    ContentLength: o.body.length,
    ETag: `"${o.etag}"`,
    ContentType: o.contentType,
    Metadata: { ...o.metadata },
  });
  mock.on(GetObjectCommand).callsFake((i: { Key?: string }) => {
    const o = found(i.Key, 'NoSuchKey');
    return { ...describe(o), Body: Readable.from([o.body]) };
  });
  mock.on(HeadObjectCommand).callsFake((i: { Key?: string }) => describe(found(i.Key, 'NotFound')));
  mock
    .on(PutObjectCommand)
    .callsFake(
      (i: {
        Key?: string;
        Body?: unknown;
        IfNoneMatch?: string;
        ContentType?: string;
        Metadata?: Record<string, string>;
        Tagging?: string;
      }) => {
        if (i.IfNoneMatch === '*' && objects.has(i.Key ?? '')) throw s3Error('PreconditionFailed', 412);
        const body = Buffer.isBuffer(i.Body)
          ? i.Body
          : Buffer.from(typeof i.Body === 'string' ? i.Body : (i.Body as Uint8Array));
        const etag = createHash('md5').update(body).digest('hex');
        const metadata = Object.fromEntries(Object.entries(i.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        objects.set(i.Key ?? '', { body, etag, contentType: i.ContentType, metadata, tagging: i.Tagging });
        return { ETag: `"${etag}"` };
      },
    );
  mock.on(DeleteObjectCommand).callsFake((i: { Key?: string }) => {
    objects.delete(i.Key ?? '');
    return {};
  });
  mock.on(HeadBucketCommand).resolves({});
  return { client, objects };
}
