/**
 * Every write bucketmove makes into the new bucket asks for the workspace's server-side encryption (the bucket policy
 * refuses another one: stacks/policies.ts sseStatements): the migrator's single PUT and its multipart upload (the
 * header on CreateMultipartUpload only: UploadPart and CompleteMultipartUpload do not take it), copy-on-miss, the
 * store's puts and tombstones, and a Batch Operations job's manifest.
 *
 * Checked on the HTTP requests the SDK sends (its serializers drop what an operation does not take), with a request
 * handler that records them and answers as S3 does: AWS's behaviour (the local RGW does not echo SSE-S3).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { writeManifest } from '../../migrator/src/batch/write-manifest';
import { putMultipart, putStreamed, putWhole, sseParams, type Target } from '../../migrator/src/objects/write-new';
import { copyToNew } from '../../migrator/src/store/copy-on-miss';
import { NewSide } from '../../migrator/src/store/new-side';
import { loadWorkspace } from '../../workspaces/load';
import { MIB } from '../../workspaces/units';

const prod = loadWorkspace('prod');
const dev = loadWorkspace('dev');
const kmsKey = prod.primary.encryption.type === 'SSE-KMS' ? prod.primary.encryption.kmsKeyArn : '';

interface Sent {
  readonly op:
    'PutObject' | 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'HeadObject' | 'ListObjectsV2';
  readonly key: string;
  readonly headers: Record<string, string>;
}
let sent: Sent[] = [];

/** An S3 client whose requests are recorded and answered here, as S3 answers them. */
function recordingClient(): S3Client {
  const xml = (body: string, headers: Record<string, string> = {}) => ({
    response: {
      statusCode: 200,
      headers: { 'content-type': 'application/xml', ...headers },
      body: Readable.from([Buffer.from(body)]),
    },
  });
  const empty = (headers: Record<string, string> = {}) => ({
    response: { statusCode: 200, headers, body: Readable.from([]) },
  });
  return new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    requestHandler: {
      async handle(req: {
        method: string;
        path: string;
        query?: Record<string, unknown>;
        headers: Record<string, string>;
        body?: unknown;
      }) {
        const body = req.body;
        if (body && typeof (body as Readable).resume === 'function') (body as Readable).resume(); // drain a streamed part
        const q = req.query ?? {};
        const key = decodeURIComponent(req.path.replace(/^\//, '')); // virtual-hosted: the bucket is in the host
        const record = (op: Sent['op']) => sent.push({ op, key, headers: { ...req.headers } });
        if (req.method === 'HEAD') return (record('HeadObject'), empty({ etag: '"e"', 'content-length': '1' }));
        if (req.method === 'GET' && q['list-type']) {
          record('ListObjectsV2');
          return xml(
            '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/1.jpg</Key><Size>3</Size><ETag>"x"</ETag></Contents></ListBucketResult>',
          );
        }
        if (req.method === 'POST' && 'uploads' in q)
          return (
            record('CreateMultipartUpload'),
            xml('<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>')
          );
        if (req.method === 'PUT' && q.partNumber) return (record('UploadPart'), empty({ etag: '"p"' }));
        if (req.method === 'POST' && q.uploadId)
          return (
            record('CompleteMultipartUpload'),
            xml('<CompleteMultipartUploadResult><ETag>"m-2"</ETag></CompleteMultipartUploadResult>')
          );
        if (req.method === 'PUT') return (record('PutObject'), empty({ etag: '"e"', 'x-amz-version-id': 'v1' }));
        throw new Error(`unexpected request ${req.method} ${req.path}`);
      },
    },
  });
}

const client = recordingClient();
beforeEach(() => {
  sent = [];
});
afterAll(() => client.destroy());

const target = (sse = sseParams(prod.primary.encryption)): Target => ({
  client,
  bucket: prod.primary.bucket,
  sse,
  partSize: 5 * MIB,
  queueSize: 1,
});
const writes = () => sent.filter((r) => r.op !== 'HeadObject' && r.op !== 'ListObjectsV2');
/** The encryption headers of a request. */
const sseOf = (r: Sent) =>
  Object.fromEntries(Object.entries(r.headers).filter(([h]) => h.startsWith('x-amz-server-side-encryption')));
const KMS_HEADERS = {
  'x-amz-server-side-encryption': 'aws:kms',
  'x-amz-server-side-encryption-aws-kms-key-id': kmsKey,
  'x-amz-server-side-encryption-bucket-key-enabled': 'true',
};

describe("sseParams: the headers of the workspace's encryption", () => {
  it('SSE-KMS: the algorithm, the key ARN (what the bucket policy compares) and the bucket key', () => {
    expect(sseParams(prod.primary.encryption)).toEqual({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: kmsKey,
      BucketKeyEnabled: true,
    });
  });
  it('SSE-S3: AES256', () => {
    expect(sseParams(dev.primary.encryption)).toEqual({ ServerSideEncryption: 'AES256' });
  });
});

describe('every write path sends them', () => {
  it("the migrator's single PUT", async () => {
    await putWhole(
      target(),
      { key: 'a.jpg', metadata: {} },
      Buffer.from('x'),
      createHash('sha256').update('x').digest('hex'),
    );
    expect(writes().map((r) => [r.op, sseOf(r), r.headers['if-none-match']])).toEqual([
      ['PutObject', KMS_HEADERS, '*'],
    ]);
  });

  it("the migrator's single PUT signs with the SHA-256 it computed (one hash per object): x-amz-content-sha256 is that hash", async () => {
    const body = Buffer.from('a photo');
    const hex = createHash('sha256').update(body).digest('hex');
    await putWhole(target(), { key: 'hashed.jpg', metadata: {} }, body, hex);
    const [put] = writes();
    expect(put.headers['x-amz-content-sha256']).toBe(hex);
    expect(put.headers['x-amz-checksum-sha256']).toBe(Buffer.from(hex, 'hex').toString('base64'));
    expect(put.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    // The signer took the hash it was given and did not hash the body itself: shown with one that is not the body's
    // (S3 would refuse that request, XAmzContentSHA256Mismatch).
    sent = [];
    const other = createHash('sha256').update('another photo').digest('hex');
    await putWhole(target(), { key: 'hashed.jpg', metadata: {} }, body, other);
    expect(writes()[0].headers['x-amz-content-sha256']).toBe(other);
  });

  it("the migrator's streamed conditional PUT of a large object (servers that ignore If-None-Match on completion)", async () => {
    const body = Buffer.alloc(6 * MIB, 2);
    await putStreamed(
      target(),
      { key: 'big-single.jpg', metadata: {} },
      Readable.from([body]),
      body.length,
      createHash('sha256').update(body).digest('hex'),
    );
    expect(writes().map((r) => [r.op, sseOf(r), r.headers['if-none-match']])).toEqual([
      ['PutObject', KMS_HEADERS, '*'],
    ]);
  });

  it("the migrator's multipart upload: on CreateMultipartUpload, and on no part or completion (S3 refuses it there)", async () => {
    const body = Buffer.alloc(6 * MIB, 1);
    await putMultipart(
      target(),
      { key: 'big.jpg', metadata: {} },
      Readable.from([body]),
      body.length,
      new AbortController(),
    );
    expect(writes().map((r) => [r.op, sseOf(r)])).toEqual([
      ['CreateMultipartUpload', KMS_HEADERS],
      ['UploadPart', {}],
      ['UploadPart', {}],
      ['CompleteMultipartUpload', {}],
    ]);
    expect(writes()[3].headers['if-none-match']).toBe('*');
  });

  it("copy-on-miss (the store's background copy of a fallback read)", async () => {
    const outcome = await copyToNew(
      { target: target(), legacyEtag: async () => 'abc' },
      'c.jpg',
      { etag: 'abc', versionId: 'null', metadata: {}, size: 1, contentType: 'image/jpeg' },
      Buffer.from('y'),
    );
    expect(outcome).toBe('written');
    expect(writes().map((r) => [r.op, sseOf(r), r.headers['if-none-match']])).toEqual([
      ['PutObject', KMS_HEADERS, '*'],
    ]);
  });

  it("the store's put and its tombstone (a delete during the migration)", async () => {
    const side = new NewSide(client, dev.primary.bucket, sseParams(dev.primary.encryption));
    await side.put('d.jpg', Buffer.from('z'), { contentType: 'image/jpeg' });
    await side.bury('d.jpg');
    expect(writes().map((r) => [r.op, r.key, sseOf(r), r.headers['x-amz-tagging']])).toEqual([
      ['PutObject', 'd.jpg', { 'x-amz-server-side-encryption': 'AES256' }, undefined],
      ['PutObject', 'd.jpg', { 'x-amz-server-side-encryption': 'AES256' }, 'bucketmove=tombstone'],
    ]);
  });

  it("a Batch Operations job's manifest in the new bucket", async () => {
    const written = await writeManifest(prod, { client, bucket: prod.legacy.bucket }, client, {
      now: new Date('2026-11-30T10:00:00Z'),
    });
    expect(written.objects).toBe(1);
    expect(writes().map((r) => [r.op, sseOf(r)])).toEqual([['PutObject', KMS_HEADERS]]);
  });
});
