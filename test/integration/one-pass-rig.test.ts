/**
 * The one-pass write against the real RGW 16 (migrator/rig/README.md): the server's side, and the SDK's wire.
 * - RGW 16 accepts a FULL_OBJECT CRC32 multipart upload but ignores the checksum: a wrong one completes and none is
 *   stored, so the probe answers 'ignored' and large objects keep two passes there.
 * - The one-pass copy with the real SDK and lib-storage (forced: as if the probe had found S3's behaviour), through a
 *   proxy that records the requests: every part carries x-amz-checksum-crc32 (the SDK's CRC of that part), the
 *   completion carries the whole plaintext's, with x-amz-checksum-type FULL_OBJECT and If-None-Match; the legacy
 *   object is read once; the stored bytes are the plaintext whose SHA-256 the outcome records. (S3's check of the
 *   checksum is AWS behaviour: mocked in test/migrate/copy-object-one-pass.test.ts.)
 */
import { randomBytes } from 'crypto';
import { createS3Client } from '../../migrator/src/aws/clients';
import { FernetCodec } from '../../migrator/src/codec/fernet';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import {
  largeObjectWrite,
  probeFullObjectChecksum,
  PROBE_PREFIX,
} from '../../migrator/src/migrate/conditional-write-probe';
import { readProvenance } from '../../migrator/src/objects/provenance';
import { fullObjectCrc32 } from '../../migrator/src/objects/write-large';
import { fernetKey, getNew, putLegacy, sha256 } from './helpers/migration';
import { keysOf, probeKeys, rigState, s3As, uniqueKey } from './helpers/rig';
import { startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { MIB } from '../../workspaces/units';

test('RGW 16 ignores a full-object CRC32 at CompleteMultipartUpload: the probe says so and leaves nothing', async () => {
  const before = await probeKeys();
  const target = {
    client: s3As('primaryApp'),
    bucket: rigState().buckets.primary,
    sse: { ServerSideEncryption: 'AES256' as const },
    partSize: 5 * MIB,
    queueSize: 1,
  };
  expect(await probeFullObjectChecksum(target)).toBe('ignored');
  expect(await probeKeys()).toEqual(before);
});

describe('the one-pass copy with the real SDK (forced on the rig)', () => {
  let proxy: S3Proxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  test('one GET; parts and completion carry CRC32 on the wire; the stored bytes are the plaintext hashed', async () => {
    const key = `${uniqueKey('one-pass')}/scan.jpg`;
    const plaintext = randomBytes(12 * MIB + 77);
    const codec = new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 64 * MIB });
    await putLegacy(key, codec.encrypt(plaintext), 'image/jpeg', { 'uploaded-by': 'legacy app' });
    proxy = await startS3Proxy(rigState().endpoint);
    const viaProxy = (who: 'legacyApp' | 'primaryApp') =>
      createS3Client({ endpoint: proxy!.url, region: rigState().region, s3Compatible: true, credentials: keysOf(who) });
    const onePass = largeObjectWrite({
      key: `${PROBE_PREFIX}forced`,
      put: 'enforced',
      completeMultipartUpload: 'enforced',
      fullObjectChecksum: 'verified',
      cleanedUp: true,
    });
    const outcome = await copyObject(
      { key },
      {
        source: { client: viaProxy('legacyApp'), bucket: rigState().buckets.legacy },
        target: {
          client: viaProxy('primaryApp'),
          bucket: rigState().buckets.primary,
          sse: { ServerSideEncryption: 'AES256' },
          partSize: 5 * MIB,
          queueSize: 2,
        },
        codec,
        largeObjects: onePass,
      },
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({
      state: 'copied',
      plaintextSha256: sha256(plaintext),
      plaintextSize: plaintext.length,
    });

    const seen = proxy.seen.filter((r) => r.key === key);
    expect(seen.filter((r) => r.method === 'GET')).toHaveLength(1);
    const parts = seen.filter((r) => r.method === 'PUT' && /(^|&)partNumber=/.test(r.query));
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.headers['x-amz-checksum-crc32'] ?? p.headers['x-amz-trailer']).toBeTruthy();
    const create = seen.find((r) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query))!;
    expect(create.headers).toMatchObject({
      'x-amz-checksum-algorithm': 'CRC32',
      'x-amz-checksum-type': 'FULL_OBJECT',
    });
    const complete = seen.find((r) => r.method === 'POST' && /(^|&)uploadId=/.test(r.query))!;
    expect(complete.headers).toMatchObject({
      'x-amz-checksum-crc32': await fullObjectCrc32([plaintext]),
      'x-amz-checksum-type': 'FULL_OBJECT',
      'if-none-match': '*',
    });

    const stored = (await getNew(key))!;
    expect(stored.body.equals(plaintext)).toBe(true);
    expect(readProvenance(stored.metadata)).toMatchObject({ integrity: 'full-object-crc32' });
    expect(stored.metadata['uploaded-by']).toBe('legacy app');
  });
});
