/**
 * The S3-API gateway (npm run gateway) on the real RGW, with real clients going through it and nothing of theirs
 * changed but the endpoint: boto3 (Debian's python3-boto3), the AWS CLI v2 (/usr/bin/aws), the AWS SDK for JavaScript
 * v3 and rclone. Each runs the same scenario in dual-read: upload, read a migrated key, read a legacy-only key
 * (decrypted on the way out), ranged read, list (merged view, tombstones hidden), delete, presigned GET. Then the
 * gateway's own answers: signature errors as S3's XML, NotImplemented naming the operation, the fallback-hit lines.
 */
import { execFile } from 'child_process';
import * as http from 'http';
import * as https from 'https';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { promisify } from 'util';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { photoBytes } from '../../migrator/src/seed/seeder';
import { planObjects } from '../../migrator/src/seed/plan';
import { NAMED_SIZES } from '../../migrator/src/seed/sizes';
import { isTombstone } from '../../migrator/src/objects/provenance';
import { FALLBACK_HIT_EVENT } from '../../migrator/src/store/fallback-events';
import { tmpDirPerFile } from '../helpers/tmp';
import { freshMigration, migrate, seed, type TestMigration } from './helpers/own-buckets';
import { startGateway, Sha256, signedFetch as signed } from './helpers/gateway';
import { storeEnv, type RunningService } from './helpers/photo-service';
import { rigState } from './helpers/rig';
import { runAwsCli } from '../../migrator/rig/aws-cli';

jest.setTimeout(120_000);

const run = promisify(execFile);
const state = rigState();
const tmpDir = tmpDirPerFile('bm-gateway-');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const APP = { accessKeyId: 'AKIDGATEWAYAPP', secretAccessKey: randomBytes(24).toString('base64') };

const MIGRATED = 'gw/migrated photo (1).jpg';
const LEGACY_ONLY = 'gw/legacy-only+é.jpg';
const DELETED = 'gw/deleted.jpg';
const plain = { [MIGRATED]: randomBytes(5000), [LEGACY_ONLY]: randomBytes(7000), [DELETED]: randomBytes(100) };

let m: TestMigration;
let gw: RunningService & { admin: string };
let admin: string;
let bucket: string;

function sdk(extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: gw.url,
    region: state.region,
    forcePathStyle: true,
    credentials: { ...APP },
    maxAttempts: 1,
    ...extra,
  });
}

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function putLegacy(key: string, body: Buffer): Promise<void> {
  const stored = m.codec.encrypt(body, { key, size: body.length }) as Buffer;
  await m.legacy.s3.send(
    new PutObjectCommand({
      Bucket: m.legacy.bucket,
      Key: key,
      Body: stored,
      ContentLength: stored.length,
      ContentType: 'image/jpeg',
    }),
  );
}

/** What every client must have seen (its upload's bytes, the reads, the list without tombstones, the delete). */
function expectScenario(seen: Record<string, unknown>, upload: Buffer, uploadKey: string): void {
  expect(seen.upload).toBe(sha256(upload));
  expect(seen.migrated).toBe(sha256(plain[MIGRATED]));
  expect(seen.legacy).toBe(sha256(plain[LEGACY_ONLY]));
  expect(seen.range).toBe(sha256(plain[LEGACY_ONLY].subarray(10, 100)));
  expect(seen.list).toEqual(
    [LEGACY_ONLY, MIGRATED, uploadKey].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  expect(seen.presigned).toBe(sha256(plain[LEGACY_ONLY]));
  expect(seen.afterDelete).toBe(404);
}

beforeAll(async () => {
  m = await freshMigration('gateway', tmpDir());
  bucket = m.primary.bucket;
  await putLegacy(MIGRATED, plain[MIGRATED]);
  await putLegacy(DELETED, plain[DELETED]);
  await migrate(m);
  await putLegacy(LEGACY_ONLY, plain[LEGACY_ONLY]); // written after the backfill: only a fallback serves it
  gw = await startGateway({
    args: ['--region', state.region],
    env: {
      ...storeEnv({
        mode: 'dual-read',
        fernetKeys: m.keys,
        own: { primary: m.primary.bucket, legacy: m.legacy.bucket, keys: m.env },
        extra: { PHOTO_STORE_HEARTBEAT_MS: '1000' },
      }),
      BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: APP.accessKeyId,
      BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: APP.secretAccessKey,
    },
    logFile: path.join(tmpDir(), 'gateway.log'),
  });
  admin = gw.admin;
  // Deleted through the gateway before the clients run: a tombstone in new, gone from legacy, never listed.
  const c = sdk();
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: DELETED }));
  c.destroy();
});

afterAll(async () => {
  await gw?.stop();
  m?.legacy.s3.destroy();
  m?.primary.s3.destroy();
});

test('the JS SDK v3 (forcePathStyle): the scenario, plus a streamed aws-chunked upload and multipart', async () => {
  const c = sdk();
  const key = 'gw/js-sdk.jpg';
  const upload = randomBytes(20_000);
  // A Buffer: the SDK sends x-amz-checksum-crc32 (its default WHEN_SUPPORTED checksums), which the gateway checks.
  await c.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: upload,
      ContentType: 'image/jpeg',
      Metadata: { owner: 'js' },
    }),
  );
  const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect(got.Metadata).toEqual({ owner: 'js' });
  const seen: Record<string, unknown> = { upload: sha256(await bodyOf(got)) };
  seen.migrated = sha256(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED }))));
  seen.legacy = sha256(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: LEGACY_ONLY }))));
  const ranged = await c.send(new GetObjectCommand({ Bucket: bucket, Key: LEGACY_ONLY, Range: 'bytes=10-99' }));
  expect(ranged.ContentRange).toBe(`bytes 10-99/${plain[LEGACY_ONLY].length}`);
  seen.range = sha256(await bodyOf(ranged));
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await c.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'gw/', MaxKeys: 1, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  seen.list = keys;
  const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: bucket, Key: LEGACY_ONLY }), { expiresIn: 300 });
  seen.presigned = sha256(Buffer.from(await (await fetch(url)).arrayBuffer()));
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  seen.afterDelete = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => 200,
    (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
  );
  expectScenario(seen, upload, key);

  // A stream of known length: the SDK sends it aws-chunked with its CRC32 in a trailer
  // (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
  const streamed = randomBytes(300_000);
  await c.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'gw-extra/streamed.jpg',
      Body: Readable.from([streamed.subarray(0, 100_000), streamed.subarray(100_000)]),
      ContentLength: streamed.length,
    }),
  );
  expect(
    sha256(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'gw-extra/streamed.jpg' })))),
  ).toBe(sha256(streamed));
  // lib-storage's Upload: CreateMultipartUpload, UploadPart x2, CompleteMultipartUpload, passed through to the new
  // bucket.
  const big = randomBytes(6 * 1024 * 1024 + 123);
  await new Upload({
    client: c,
    params: { Bucket: bucket, Key: 'gw-extra/multipart.jpg', Body: big },
    partSize: 5 * 1024 * 1024,
    queueSize: 1,
  }).done();
  const mp = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'gw-extra/multipart.jpg' }));
  expect(mp.ContentLength).toBe(big.length);
  expect(sha256(await bodyOf(mp))).toBe(sha256(big));
  // DeleteObjects (the SDK sends its CRC32 as the integrity check S3 requires): each key deleted as the store deletes.
  const extra = ['gw-extra/streamed.jpg', 'gw-extra/multipart.jpg', 'gw-extra/never-there.jpg'];
  const del = await c.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: extra.map((Key) => ({ Key })) } }),
  );
  expect((del.Deleted ?? []).map((d) => d.Key)).toEqual(extra);
  expect(del.Errors ?? []).toEqual([]);
  for (const k of extra)
    await expect(c.send(new HeadObjectCommand({ Bucket: bucket, Key: k }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  c.destroy();
});

test('boto3 (python3-boto3, endpoint_url, path addressing): the scenario', async () => {
  const upload = randomBytes(12_345);
  const key = 'gw/boto3.jpg';
  const scenario = {
    endpoint: gw.url,
    region: state.region,
    ...APP,
    bucket,
    uploadKey: key,
    uploadHex: upload.toString('hex'),
    migratedKey: MIGRATED,
    legacyKey: LEGACY_ONLY,
    listPrefix: 'gw/',
  };
  const { stdout } = await run('/usr/bin/python3', [path.join(__dirname, 'helpers', 'gateway_boto3.py')], {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: tmpDir(),
      BM_GATEWAY_SCENARIO: JSON.stringify(scenario),
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeout: 60_000,
  });
  const seen = JSON.parse(stdout) as Record<string, unknown>;
  expectScenario(seen, upload, key);
  expect(seen.uploadMeta).toBe('boto3');
  expect(seen.rangeStatus).toBe(206);
  expect(seen.getAfterDelete).toBe('NoSuchKey');
});

test('the AWS CLI v2 (--endpoint-url): the scenario', async () => {
  const dir = tmpDir();
  const cli = (args: string[]) =>
    runAwsCli(args, { endpoint: gw.url, region: state.region, keys: { ...APP }, timeoutMs: 60_000 });
  const ok = async (args: string[]) => {
    const r = await cli(args);
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const key = 'gw/aws-cli.jpg';
  const upload = randomBytes(9_999);
  fs.writeFileSync(path.join(dir, 'up.jpg'), upload);
  await ok([
    's3api',
    'put-object',
    '--bucket',
    bucket,
    '--key',
    key,
    '--body',
    path.join(dir, 'up.jpg'),
    '--content-type',
    'image/jpeg',
  ]);
  const read = async (k: string, extra: string[] = []) => {
    const out = path.join(dir, `read-${randomBytes(4).toString('hex')}`);
    await ok(['s3api', 'get-object', '--bucket', bucket, '--key', k, ...extra, out]);
    return sha256(fs.readFileSync(out));
  };
  const seen: Record<string, unknown> = {
    upload: await read(key),
    migrated: await read(MIGRATED),
    range: await read(LEGACY_ONLY, ['--range', 'bytes=10-99']),
  };
  // `aws s3 cp` (HeadObject, then GetObject) for the legacy-only key.
  await ok(['s3', 'cp', `s3://${bucket}/${LEGACY_ONLY}`, path.join(dir, 'legacy.jpg')]);
  seen.legacy = sha256(fs.readFileSync(path.join(dir, 'legacy.jpg')));
  const listed = JSON.parse(
    await ok(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'gw/', '--page-size', '2']),
  ) as { Contents: { Key: string }[] };
  seen.list = listed.Contents.map((o) => o.Key);
  const url = (await ok(['s3', 'presign', `s3://${bucket}/${LEGACY_ONLY}`, '--expires-in', '300'])).trim();
  seen.presigned = sha256(Buffer.from(await (await fetch(url)).arrayBuffer()));
  await ok(['s3api', 'delete-object', '--bucket', bucket, '--key', key]);
  const head = await cli(['s3api', 'head-object', '--bucket', bucket, '--key', key]);
  seen.afterDelete = head.code !== 0 && /404|Not Found/.test(head.stderr) ? 404 : head.code;
  expectScenario(seen, upload, key);
  // `aws s3 ls` lists through the same merged view (a delimiter: the folder as a common prefix).
  expect(await ok(['s3', 'ls', `s3://${bucket}/`])).toMatch(/PRE gw\//);
});

test('rclone (an s3 remote with endpoint, path style): the scenario', async () => {
  const dir = tmpDir();
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_GW_TYPE: 's3',
    RCLONE_CONFIG_GW_PROVIDER: 'Other',
    RCLONE_CONFIG_GW_ENV_AUTH: 'false',
    RCLONE_CONFIG_GW_ACCESS_KEY_ID: APP.accessKeyId,
    RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: APP.secretAccessKey,
    RCLONE_CONFIG_GW_ENDPOINT: gw.url,
    RCLONE_CONFIG_GW_REGION: state.region,
    RCLONE_CONFIG_GW_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_GW_LIST_VERSION: '2',
    RCLONE_CONFIG_GW_NO_CHECK_BUCKET: 'true',
  };
  const rclone = async (args: string[]) =>
    (
      await run('rclone', ['--low-level-retries', '1', '--retries', '1', ...args], {
        env,
        timeout: 60_000,
        encoding: 'buffer',
        maxBuffer: 64 << 20,
      })
    ).stdout as Buffer;
  const key = 'gw/rclone.jpg';
  const upload = randomBytes(4_321);
  fs.writeFileSync(path.join(dir, 'up.jpg'), upload);
  await rclone(['copyto', path.join(dir, 'up.jpg'), `gw:${bucket}/${key}`]);
  const seen: Record<string, unknown> = {
    upload: sha256(await rclone(['cat', `gw:${bucket}/${key}`])),
    migrated: sha256(await rclone(['cat', `gw:${bucket}/${MIGRATED}`])),
    legacy: sha256(await rclone(['cat', `gw:${bucket}/${LEGACY_ONLY}`])),
    range: sha256(await rclone(['cat', '--offset', '10', '--count', '90', `gw:${bucket}/${LEGACY_ONLY}`])),
  };
  seen.list = (await rclone(['lsf', `gw:${bucket}/gw/`]))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((n) => `gw/${n}`);
  const url = (await rclone(['link', '--expire', '5m', `gw:${bucket}/${LEGACY_ONLY}`])).toString('utf8').trim();
  seen.presigned = sha256(Buffer.from(await (await fetch(url)).arrayBuffer()));
  await rclone(['deletefile', `gw:${bucket}/${key}`]);
  const c = sdk();
  seen.afterDelete = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => 200,
    (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
  );
  c.destroy();
  expectScenario(seen, upload, key);
});

test('the deleted key is a tombstone in the new bucket, gone from legacy, and listed by nobody', async () => {
  const head = await m.primary.s3.send(new HeadObjectCommand({ Bucket: m.primary.bucket, Key: DELETED }));
  expect(isTombstone(head.Metadata)).toBe(true);
  await expect(
    m.legacy.s3.send(new HeadObjectCommand({ Bucket: m.legacy.bucket, Key: DELETED })),
  ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  const c = sdk();
  await expect(c.send(new GetObjectCommand({ Bucket: bucket, Key: DELETED }))).rejects.toMatchObject({
    name: 'NoSuchKey',
  });
  c.destroy();
});

test('virtual-hosted addressing (Host: <bucket>.<gateway host>, the JS SDK without forcePathStyle): upload, read, fallback read, list', async () => {
  // Every <bucket>.gw.test name reaches the gateway on loopback, as a wildcard DNS record would.
  const loopback = (
    _host: string,
    o: { all?: boolean },
    cb: (err: null, address: string | { address: string; family: number }[], family?: number) => void,
  ) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const port = new URL(gw.url).port;
  const c = sdk({
    endpoint: `http://gw.test:${port}`,
    forcePathStyle: false,
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ lookup: loopback } as http.AgentOptions) }),
  });
  const hosts: string[] = [];
  c.middlewareStack.add(
    (next) => async (args) => {
      hosts.push((args.request as { hostname: string }).hostname);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHost' },
  );
  const body = randomBytes(3000);
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'gw-vhost/a b.jpg', Body: body }));
  expect(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'gw-vhost/a b.jpg' })))).toEqual(body);
  const fallback = await c.send(new GetObjectCommand({ Bucket: bucket, Key: LEGACY_ONLY }));
  expect(await bodyOf(fallback)).toEqual(plain[LEGACY_ONLY]);
  const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'gw-vhost/' }));
  expect(listed.Contents?.map((o) => o.Key)).toEqual(['gw-vhost/a b.jpg']);
  c.destroy();
  expect(hosts.length).toBeGreaterThanOrEqual(4);
  expect(new Set(hosts)).toEqual(new Set([`${bucket}.gw.test`]));
});

test('ListObjects (v1) pages the same merged view as ListObjectsV2, Marker to NextMarker; a folder of deleted photos is listed by neither', async () => {
  const c = sdk();
  // gw-folder/gone/ holds only a photo deleted through the gateway (a tombstone in new, nothing in legacy);
  // gw-folder/kept/ a photo of each bucket; gw-folder/top.jpg a legacy-only photo.
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'gw-folder/gone/1.jpg', Body: randomBytes(10) }));
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gw-folder/gone/1.jpg' }));
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'gw-folder/kept/new.jpg', Body: randomBytes(10) }));
  await putLegacy('gw-folder/kept/legacy.jpg', randomBytes(20));
  await putLegacy('gw-folder/top.jpg', randomBytes(30));
  const v2 = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'gw-folder/', Delimiter: '/' }));
  expect(v2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['gw-folder/kept/']);
  expect(v2.Contents?.map((o) => o.Key)).toEqual(['gw-folder/top.jpg']);

  const v1 = await c.send(new ListObjectsCommand({ Bucket: bucket, Prefix: 'gw-folder/', Delimiter: '/' }));
  expect(v1.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['gw-folder/kept/']);
  expect(v1.Contents?.map((o) => [o.Key, o.Size, o.ETag])).toEqual(v2.Contents?.map((o) => [o.Key, o.Size, o.ETag]));
  expect(v1.IsTruncated).toBe(false);

  // One key a page, without a delimiter: every visible key once, in order, the deleted one never.
  const seen: string[] = [];
  let marker: string | undefined;
  for (let guard = 0; guard < 10; guard++) {
    const page = await c.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: 'gw-folder/', MaxKeys: 1, Marker: marker }),
    );
    seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    if (!page.IsTruncated) break;
    expect(page.NextMarker).toBe(page.Contents![0].Key);
    marker = page.NextMarker;
  }
  expect(seen).toEqual(['gw-folder/kept/legacy.jpg', 'gw-folder/kept/new.jpg', 'gw-folder/top.jpg']);
  c.destroy();
});

test("S3's errors: bad signatures, unknown keys, skew, NotImplemented naming the operation, a foreign bucket", async () => {
  const wrong = sdk({ credentials: { accessKeyId: APP.accessKeyId, secretAccessKey: 'wrong' } });
  await expect(wrong.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED }))).rejects.toMatchObject({
    name: 'SignatureDoesNotMatch',
    $metadata: { httpStatusCode: 403 },
  });
  wrong.destroy();
  const unknown = sdk({ credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' } });
  await expect(unknown.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED }))).rejects.toMatchObject({
    name: 'InvalidAccessKeyId',
    $metadata: { httpStatusCode: 403 },
  });
  unknown.destroy();
  const skewed = sdk({ systemClockOffset: 20 * 60_000 });
  await expect(skewed.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED }))).rejects.toMatchObject({
    name: 'RequestTimeTooSkewed',
    $metadata: { httpStatusCode: 403 },
  });
  skewed.destroy();

  const anonymous = await fetch(`${gw.url}/${bucket}/${encodeURIComponent(MIGRATED)}`);
  expect(anonymous.status).toBe(403);
  expect(await anonymous.text()).toMatch(/<Code>AccessDenied<\/Code>/);

  const c = sdk();
  const url = await getSignedUrl(c, new GetObjectCommand({ Bucket: bucket, Key: LEGACY_ONLY }), { expiresIn: 300 });
  const tagging = await fetch(url.replace('?', '?tagging&'));
  expect(tagging.status).toBe(403); // the query is signed: an added sub-resource breaks the signature
  const { PutObjectTaggingCommand, CopyObjectCommand } = await import('@aws-sdk/client-s3');
  await expect(
    c.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: MIGRATED, Tagging: { TagSet: [] } })),
  ).rejects.toMatchObject({
    name: 'NotImplemented',
    message: expect.stringContaining('PutObjectTagging'),
    $metadata: { httpStatusCode: 501 },
  });
  await expect(
    c.send(new CopyObjectCommand({ Bucket: bucket, Key: 'gw-extra/copy.jpg', CopySource: `${bucket}/${MIGRATED}` })),
  ).rejects.toMatchObject({ name: 'NotImplemented', message: expect.stringContaining('CopyObject') });
  await expect(c.send(new GetObjectCommand({ Bucket: 'someone-elses-bucket', Key: MIGRATED }))).rejects.toMatchObject({
    name: 'NoSuchBucket',
  });
  // Conditional reads: If-None-Match with the ETag is 304, If-Match with another is 412.
  const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: MIGRATED }));
  await expect(
    c.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED, IfNoneMatch: head.ETag })),
  ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
  await expect(
    c.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED, IfMatch: '"0123"' })),
  ).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
  await expect(
    c.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED, Range: 'bytes=999999-' })),
  ).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  c.destroy();
});

describe('bad input', () => {
  async function signedFetch(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<{ status: number; text: string }> {
    const res = await signed(gw.url, APP, state.region, method, pathAndQuery, headers, body);
    return { status: res.status, text: await res.text() };
  }

  test('every odd key the migrator handles reads (decrypted) and lists through the gateway', async () => {
    const objects = planObjects({ count: 1, size: NAMED_SIZES.small, oddKeys: true, seed: 'gw-odd', prefix: 'odd/' });
    await seed(m, objects, 'gw-odd');
    const c = sdk();
    for (const o of objects) {
      const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
      expect({ key: o.key, sha: sha256(await bodyOf(got)) }).toEqual({
        key: o.key,
        sha: sha256(photoBytes('gw-odd', o)),
      });
    }
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/', MaxKeys: 7, ContinuationToken: token }),
      );
      listed.push(...(page.Contents ?? []).map((x) => x.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(listed).toEqual(objects.map((o) => o.key).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    c.destroy();
  });

  test('malformed DeleteObjects and CompleteMultipartUpload bodies are MalformedXML; nothing is deleted', async () => {
    const body = Buffer.from('<Delete><Object><Key>' + MIGRATED + '</Key>');
    const md5 = createHash('md5').update(body).digest('base64');
    const del = await signedFetch(
      'POST',
      `/${bucket}?delete`,
      { 'content-md5': md5, 'content-type': 'application/xml' },
      body,
    );
    expect(del.status).toBe(400);
    expect(del.text).toContain('<Code>MalformedXML</Code>');
    const noMd5 = await signedFetch(
      'POST',
      `/${bucket}?delete`,
      {},
      Buffer.from(`<Delete><Object><Key>${MIGRATED}</Key></Object></Delete>`),
    );
    expect(noMd5.status).toBe(400);
    expect(noMd5.text).toContain('Content-MD5');
    const complete = await signedFetch(
      'POST',
      `/${bucket}/gw-extra/x.jpg?uploadId=nope`,
      {},
      Buffer.from('<CompleteMultipartUpload><Part>'),
    );
    expect(complete.text).toContain('<Code>MalformedXML</Code>');
    const c = sdk();
    expect((await c.send(new HeadObjectCommand({ Bucket: bucket, Key: MIGRATED }))).$metadata.httpStatusCode).toBe(200);
    c.destroy();
  });

  test('a tampered body is XAmzContentSHA256Mismatch / BadDigest and writes nothing; metadata over 2 KB is MetadataTooLarge', async () => {
    const key = 'gw-extra/tampered.jpg';
    const url = new URL(`${gw.url}/${bucket}/${key}`);
    const signer = new SignatureV4({
      credentials: { ...APP },
      region: state.region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const good = Buffer.from('the real photo');
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'x-amz-content-sha256': createHash('sha256').update(good).digest('hex') },
    });
    const res = await fetch(url, {
      method: 'PUT',
      headers: signed.headers as Record<string, string>,
      body: Buffer.from('a forged photo'),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    const badMd5 = await signedFetch(
      'PUT',
      `/${bucket}/${key}`,
      { 'content-md5': createHash('md5').update('other').digest('base64') },
      good,
    );
    expect(badMd5.text).toContain('<Code>BadDigest</Code>');
    const big = await signedFetch('PUT', `/${bucket}/${key}`, { 'x-amz-meta-big': 'x'.repeat(2100) }, good);
    expect(big.text).toContain('<Code>MetadataTooLarge</Code>');
    await expect(
      m.primary.s3.send(new HeadObjectCommand({ Bucket: m.primary.bucket, Key: key })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  test('oversized headers, an unknown operation and a key over 1024 bytes get S3 errors; the gateway keeps serving', async () => {
    const huge = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${gw.url}/${bucket}/k`, { headers: { 'x-pad': 'a'.repeat(20_000) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(huge.status).toBe(400);
    expect(huge.text).toContain('<Code>RequestHeaderSectionTooLarge</Code>');
    const select = await signedFetch('POST', `/${bucket}/gw/any.jpg?select&select-type=2`, {}, Buffer.from('<x/>'));
    expect(select.status).toBe(501);
    expect(select.text).toMatch(/<Code>NotImplemented<\/Code><Message>\w+ is not implemented/);
    const c = sdk();
    await expect(c.send(new GetObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1025) }))).rejects.toMatchObject({
      name: 'KeyTooLongError',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await c.send(new HeadObjectCommand({ Bucket: bucket, Key: MIGRATED }))).$metadata.httpStatusCode).toBe(200);
    c.destroy();
  });
});

test('TLS from --tls-cert/--tls-key on a non-loopback bind, in read-both-write-legacy: writes go to legacy encrypted, multipart is refused', async () => {
  const dir = tmpDir();
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const tlsGw = await startGateway({
    bundled: true,
    args: ['--host', '0.0.0.0', '--region', state.region, '--tls-cert', cert, '--tls-key', key],
    env: {
      ...storeEnv({
        mode: 'read-both-write-legacy',
        fernetKeys: m.keys,
        own: { primary: m.primary.bucket, legacy: m.legacy.bucket, keys: m.env },
      }),
      BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: APP.accessKeyId,
      BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: APP.secretAccessKey,
    },
    logFile: path.join(dir, 'gateway-tls.log'),
    what: 'the TLS gateway',
  });
  try {
    expect(tlsGw.url).toMatch(/^https:\/\//);
    const c = new S3Client({
      endpoint: tlsGw.url,
      region: state.region,
      forcePathStyle: true,
      credentials: { ...APP },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: fs.readFileSync(cert) }) }),
    });
    expect(sha256(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: MIGRATED }))))).toBe(
      sha256(plain[MIGRATED]),
    );
    const photo = randomBytes(3000);
    await c.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'gw-tls/written-to-legacy.jpg',
        Body: photo,
        ContentType: 'image/jpeg',
      }),
    );
    const stored = await bodyOf(
      await m.legacy.s3.send(new GetObjectCommand({ Bucket: m.legacy.bucket, Key: 'gw-tls/written-to-legacy.jpg' })),
    );
    expect(stored.length).toBeGreaterThan(photo.length); // encrypted with the codec, as the legacy app wrote
    expect(stored.includes(photo.subarray(0, 64))).toBe(false);
    expect(
      sha256(await bodyOf(await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'gw-tls/written-to-legacy.jpg' })))),
    ).toBe(sha256(photo));
    await expect(
      c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'gw-tls/big.jpg' })),
    ).rejects.toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
    c.destroy();
    // Plain HTTP on the TLS port gets no S3 answer.
    await expect(fetch(tlsGw.url.replace('https:', 'http:') + `/${bucket}/x`)).rejects.toThrow();
  } finally {
    expect(await tlsGw.stop()).toBe(0);
  }
});

test('fallback hits and heartbeats are logged as the store logs them; /healthz and /metrics on the admin port; no secret in the log', async () => {
  const health = (await (await fetch(`${admin}/healthz`)).json()) as { status: string; mode: string };
  expect(health).toEqual({ status: 'ok', mode: 'dual-read' });
  const metrics = (await (await fetch(`${admin}/metrics`)).json()) as { fallbackHits: number; writes: number };
  expect(metrics.fallbackHits).toBeGreaterThan(0);
  expect(metrics.writes).toBeGreaterThan(0);
  expect((await fetch(`${gw.url}/healthz`)).status).toBe(403); // the S3 port serves S3 only
  const lines = gw
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const hits = lines.filter((l) => l.event === FALLBACK_HIT_EVENT);
  expect(hits.length).toBeGreaterThan(0);
  // Only keys the new bucket lacks fell back: the legacy-only key and the odd keys seeded into legacy alone.
  const hitKeys = new Set(hits.map((h) => h.key as string));
  expect(hitKeys.has(LEGACY_ONLY)).toBe(true);
  expect([...hitKeys].filter((k) => k !== LEGACY_ONLY && !k.startsWith('odd/'))).toEqual([]);
  expect(lines.some((l) => l.event === 'store.heartbeat')).toBe(true);
  for (const secret of [APP.secretAccessKey, ...m.keys, state.principals.primaryAdmin.secretAccessKey])
    expect(gw.stdout() + gw.stderr()).not.toContain(secret);
  expect(await gw.stop()).toBe(0);
  expect(gw.stdout()).toContain('"gateway.stopped"');
});
