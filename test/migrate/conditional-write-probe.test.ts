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
import { offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

const status = (code: number, name: string) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });

/** A mocked bucket that answers like a server: PUTs create the key, If-None-Match is honoured where told. */
function server(o: { putEnforced: boolean; completeEnforced: boolean }) {
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
  mock.on(CreateMultipartUploadCommand).callsFake((input) => {
    uploads.add('u1');
    uploadMetadata.set('u1', input.Metadata ?? {});
    return { UploadId: 'u1' };
  });
  mock.on(UploadPartCommand).resolves({ ETag: '"p1"' });
  mock.on(CompleteMultipartUploadCommand).callsFake((input) => {
    if (!uploads.has(input.UploadId)) throw status(404, 'NoSuchUpload');
    if (objects.has(input.Key) && input.IfNoneMatch === '*' && o.completeEnforced)
      throw status(412, 'PreconditionFailed');
    uploads.delete(input.UploadId);
    objects.set(input.Key, '"m1-1"');
    metadata.set(input.Key, uploadMetadata.get(input.UploadId) ?? {});
    return { ETag: '"m1-1"' };
  });
  mock.on(AbortMultipartUploadCommand).callsFake((input) => {
    if (!uploads.delete(input.UploadId)) throw status(404, 'NoSuchUpload');
    return {};
  });
  mock.on(HeadObjectCommand).callsFake((input) => {
    const etag = objects.get(input.Key);
    if (!etag) throw status(404, 'NotFound');
    return { ETag: etag, ContentLength: 35, Metadata: metadata.get(input.Key) ?? {} };
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
    expect(s.mock.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
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

  test('RGW 16 semantics: the completion overwrites the key: single conditional PUTs, up to 5 GiB', async () => {
    const s = server({ putEnforced: true, completeEnforced: false });
    const probe = await probeConditionalWrites(s.target);
    expect(probe).toMatchObject({ put: 'enforced', completeMultipartUpload: 'ignored', cleanedUp: true });
    const large = largeObjectWrite(probe);
    expect(large).toMatchObject({ path: 'single-put', maxBytes: SINGLE_PUT_LIMIT });
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
