/**
 * The conditional-write probe against mocked servers: AWS semantics (If-None-Match refused at CompleteMultipartUpload:
 * multipart), RGW 16's (ignored there: single PUTs), a server that ignores it even on PutObject (refused), a 403, a
 * failure midway, and an answer lost and retried. In every case the probe's upload and key are cleaned up. The real
 * RGW's answer is checked on the rig (test/integration/migrate-large-race.test.ts).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError } from '../../workspaces/errors';
import {
  largeObjectWrite,
  probeConditionalWrites,
  PROBE_PREFIX,
} from '../../migrator/src/migrate/conditional-write-probe';
import { SINGLE_PUT_LIMIT, type Target } from '../../migrator/src/objects/write-new';
import { fullObjectCrc32 } from '../../migrator/src/objects/write-large';
import { offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

const status = (code: number, name: string) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });

/**
 * A mocked bucket that answers like a server: PUTs create the key, If-None-Match is honoured where told; with
 * `fullObjectChecksum`, a completion of type FULL_OBJECT whose CRC32 is not that of its parts is refused (400
 * BadDigest) and the checksum is kept for HeadObject (S3); without, it is ignored and none is kept (RGW 16).
 */
function server(o: { putEnforced: boolean; completeEnforced: boolean; fullObjectChecksum?: boolean }) {
  const client = offlineS3Client();
  const mock = mockClient(client);
  const objects = new Map<string, string>();
  const metadata = new Map<string, Record<string, string>>();
  const uploads = new Set<string>();
  mock.on(ListMultipartUploadsCommand).resolves({ Uploads: [] });
  mock.on(ListObjectsV2Command).resolves({ Contents: [] });
  mock.on(PutObjectCommand).callsFake((input) => {
    if (objects.has(input.Key) && input.IfNoneMatch === '*' && o.putEnforced) throw status(412, 'PreconditionFailed');
    objects.set(input.Key, '"a1"');
    metadata.set(input.Key, input.Metadata ?? {});
    return { ETag: '"a1"' };
  });
  const uploadMetadata = new Map<string, Record<string, string>>();
  const partBodies = new Map<string, Buffer>();
  const checksums = new Map<string, string>();
  mock.on(CreateMultipartUploadCommand).callsFake((input) => {
    const id = `u${uploadMetadata.size + 1}`;
    uploads.add(id);
    uploadMetadata.set(id, input.Metadata ?? {});
    return { UploadId: id };
  });
  mock.on(UploadPartCommand).callsFake((input) => {
    partBodies.set(input.UploadId, Buffer.from(input.Body));
    return { ETag: '"p1"' };
  });
  mock.on(CompleteMultipartUploadCommand).callsFake(async (input) => {
    if (!uploads.has(input.UploadId)) throw status(404, 'NoSuchUpload');
    if (objects.has(input.Key) && input.IfNoneMatch === '*' && o.completeEnforced)
      throw status(412, 'PreconditionFailed');
    if (o.fullObjectChecksum && input.ChecksumType === 'FULL_OBJECT') {
      const crc = await fullObjectCrc32([partBodies.get(input.UploadId) ?? Buffer.alloc(0)]);
      if (crc !== input.ChecksumCRC32) throw status(400, 'BadDigest');
      checksums.set(input.Key, crc);
    }
    uploads.delete(input.UploadId);
    const etag = `"m${input.UploadId.slice(1)}-1"`;
    objects.set(input.Key, etag);
    metadata.set(input.Key, uploadMetadata.get(input.UploadId) ?? {});
    return { ETag: etag };
  });
  mock.on(AbortMultipartUploadCommand).callsFake((input) => {
    if (!uploads.delete(input.UploadId)) throw status(404, 'NoSuchUpload');
    return {};
  });
  mock.on(HeadObjectCommand).callsFake((input) => {
    const etag = objects.get(input.Key);
    if (!etag) throw status(404, 'NotFound');
    const crc = input.ChecksumMode === 'ENABLED' ? checksums.get(input.Key) : undefined;
    return {
      ETag: etag,
      ContentLength: 35,
      Metadata: metadata.get(input.Key) ?? {},
      ...(crc ? { ChecksumCRC32: crc, ChecksumType: 'FULL_OBJECT' as const } : {}),
    };
  });
  mock.on(DeleteObjectCommand).callsFake((input) => {
    if (objects.get(input.Key) !== input.IfMatch) throw status(412, 'PreconditionFailed');
    objects.delete(input.Key);
    return {};
  });
  const target: Target = {
    client,
    bucket: 'new',
    sse: { ServerSideEncryption: 'AES256' },
    partSize: 5 * MIB,
    queueSize: 1,
  };
  return { target, mock, objects, uploads, metadata };
}

describe('probeConditionalWrites', () => {
  test('AWS semantics: a CompleteMultipartUpload over the key is refused (412): large objects go multipart', async () => {
    const s = server({ putEnforced: true, completeEnforced: true });
    const probe = await probeConditionalWrites(s.target);
    expect(probe).toMatchObject({ put: 'enforced', completeMultipartUpload: 'enforced', cleanedUp: true });
    expect(probe.key.startsWith(PROBE_PREFIX)).toBe(true);
    const large = largeObjectWrite(probe);
    expect([large.path, large.maxBytes]).toEqual(['multipart', undefined]);
    // The upload the 412 left open is aborted; the key is deleted with If-Match on its ETag; nothing remains.
    expect(s.mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual(['u1']);
    // The full-object checksum probe (a fresh key, upload u2) completed: its key is deleted too.
    expect(probe.fullObjectChecksum).toBe('ignored');
    expect(large.onePass).toBe(false);
    expect(s.mock.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ Key: expect.stringMatching(new RegExp(`^${PROBE_PREFIX}`)), IfMatch: '"m2-1"' }),
      expect.objectContaining({ Key: probe.key, IfMatch: '"a1"' }),
    ]);
    expect([s.objects.size, s.uploads.size]).toEqual([0, 0]);
    // Every write of the probe carries If-None-Match (the bucket policy denies the writer's writes without it).
    for (const c of s.mock.commandCalls(PutObjectCommand)) {
      expect(c.args[0].input).toMatchObject({
        IfNoneMatch: '*',
        ServerSideEncryption: 'AES256',
        Metadata: { 'bucketmove-probe': 'conditional-write' },
      });
    }
    expect(s.mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.IfNoneMatch).toBe('*');
  });

  test('AWS semantics with full-object checksums: a wrong CRC32 at completion is refused, the right one stored: one pass', async () => {
    const s = server({ putEnforced: true, completeEnforced: true, fullObjectChecksum: true });
    const probe = await probeConditionalWrites(s.target);
    expect(probe).toMatchObject({
      completeMultipartUpload: 'enforced',
      fullObjectChecksum: 'verified',
      cleanedUp: true,
    });
    const large = largeObjectWrite(probe);
    expect([large.path, large.onePass]).toEqual(['multipart', true]);
    expect(large.why).toMatch(
      /verifies a full-object CRC32 given at completion \(probed at start\): each is read and decrypted once$/,
    );
    // u2 completed twice: refused with the wrong checksum, then completed with the right one, of type FULL_OBJECT.
    const completions = s.mock.commandCalls(CompleteMultipartUploadCommand).map((c) => c.args[0].input);
    const u2 = completions.filter((c) => c.UploadId === 'u2');
    expect(u2.map((c) => c.ChecksumType)).toEqual(['FULL_OBJECT', 'FULL_OBJECT']);
    expect(u2[1].ChecksumCRC32).toBe(await fullObjectCrc32([Buffer.from('bucketmove full-object checksum probe\n')]));
    expect(u2[0].ChecksumCRC32).not.toBe(u2[1].ChecksumCRC32);
    expect(s.mock.commandCalls(CreateMultipartUploadCommand)[1].args[0].input).toMatchObject({
      ChecksumAlgorithm: 'CRC32',
      ChecksumType: 'FULL_OBJECT',
      Metadata: { 'bucketmove-probe': 'conditional-write' },
    });
    expect([s.objects.size, s.uploads.size]).toEqual([0, 0]);
  });

  test('RGW 16 semantics: the completion overwrites the key: single conditional PUTs, up to 5 GiB', async () => {
    const s = server({ putEnforced: true, completeEnforced: false });
    const probe = await probeConditionalWrites(s.target);
    expect(probe).toMatchObject({ put: 'enforced', completeMultipartUpload: 'ignored', cleanedUp: true });
    const large = largeObjectWrite(probe);
    expect(large).toMatchObject({ path: 'single-put', maxBytes: SINGLE_PUT_LIMIT });
    // No full-object checksum probe there; the signed-chunk probe needs the light path, which a mocked client lacks.
    expect([probe.fullObjectChecksum, probe.signedChunks, large.onePass]).toEqual([undefined, 'unavailable', false]);
    expect(large.why).toMatch(/ignores If-None-Match on CompleteMultipartUpload \(probed at start\)/);
    expect(s.mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0); // completed: nothing to abort
    expect(s.mock.commandCalls(DeleteObjectCommand)[0].args[0].input.IfMatch).toBe('"m1-1"');
    expect([s.objects.size, s.uploads.size]).toEqual([0, 0]);
  });

  test('a server that ignores If-None-Match even on PutObject is refused in one line, and the probe key is removed', async () => {
    const s = server({ putEnforced: false, completeEnforced: false });
    const err = await probeConditionalWrites(s.target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^the new bucket "new" does not refuse a PutObject with If-None-Match: \* over an existing key .*use an unversioned bucket there$/,
    );
    expect((err as Error).message).not.toContain('\n');
    expect(s.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(s.objects.size).toBe(0);
  });

  test('a 403 is a ConfigError naming the rights the writer needs under the prefix', async () => {
    const s = server({ putEnforced: true, completeEnforced: true });
    s.mock.on(PutObjectCommand).rejects(status(403, 'AccessDenied'));
    await expect(probeConditionalWrites(s.target)).rejects.toThrow(
      new ConfigError(
        `the primary side: the conditional-write probe was refused writing under ${PROBE_PREFIX} in "new" (AccessDenied, HTTP 403): the writer needs s3:PutObject, s3:AbortMultipartUpload and s3:DeleteObject (with If-Match) there`,
      ),
    );
  });

  test('a failure midway (the part upload) still aborts the upload and deletes the key, then fails with the cause', async () => {
    const s = server({ putEnforced: true, completeEnforced: true });
    s.mock.on(UploadPartCommand).rejects(status(400, 'InvalidRequest'));
    await expect(probeConditionalWrites(s.target)).rejects.toThrow('InvalidRequest');
    expect(s.mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect([s.objects.size, s.uploads.size]).toEqual([0, 0]);
  });

  test('a completion answered 404 after a lost answer (the retry found the upload gone) counts as ignored when the key holds the multipart object', async () => {
    const s = server({ putEnforced: true, completeEnforced: false });
    s.mock.on(CompleteMultipartUploadCommand).callsFake((input) => {
      // The first attempt completed (the key now holds the multipart object); its answer was lost; the retry gets 404.
      s.uploads.delete(input.UploadId);
      s.objects.set(input.Key, '"m1-1"');
      throw status(404, 'NoSuchUpload');
    });
    const probe = await probeConditionalWrites(s.target);
    expect(probe).toMatchObject({ completeMultipartUpload: 'ignored', cleanedUp: true });
    expect(s.objects.size).toBe(0);
  });

  test('leftovers of a killed probe over an hour old are swept first; younger ones (another run probing) and photos under the prefix are left', async () => {
    const s = server({ putEnforced: true, completeEnforced: true });
    const old = new Date(Date.now() - 2 * 3600_000);
    const mark = { 'bucketmove-probe': 'conditional-write' };
    for (const [k, etag] of [
      ['old', '"o"'],
      ['young', '"y"'],
    ]) {
      s.objects.set(`${PROBE_PREFIX}${k}`, etag);
      s.metadata.set(`${PROBE_PREFIX}${k}`, mark);
    }
    // A photo copied from legacy that happens to live under the prefix: not the probe's, never deleted.
    s.objects.set(`${PROBE_PREFIX}photo.jpg`, '"p"');
    s.metadata.set(`${PROBE_PREFIX}photo.jpg`, { 'bucketmove-source-etag': 'e' });
    s.uploads.add('stale');
    s.mock
      .on(ListMultipartUploadsCommand)
      .resolves({ Uploads: [{ Key: `${PROBE_PREFIX}old`, UploadId: 'stale', Initiated: old }] });
    s.mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: `${PROBE_PREFIX}old`, LastModified: old },
        { Key: `${PROBE_PREFIX}photo.jpg`, LastModified: old },
        { Key: `${PROBE_PREFIX}young`, LastModified: new Date() },
      ],
    });
    await probeConditionalWrites(s.target);
    expect([...s.objects.keys()].sort()).toEqual([`${PROBE_PREFIX}photo.jpg`, `${PROBE_PREFIX}young`]);
    expect(s.uploads.has('stale')).toBe(false);
  });
});
