/**
 * The one delete this tool makes (write-new.ts deleteIfStill), with S3's semantics mocked: a HEAD that recognizes the
 * copy, then DeleteObject with If-Match on the ETag that HEAD saw, so an app write landing in between survives (S3
 * answers 412). RGW 16 ignores If-Match on DeleteObject (migrator/rig/README.md), so this is AWS's behaviour.
 */
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { deleteIfStill, holdsOwnCopy, type Target } from '../../migrator/src/objects/write-new';
import { offlineS3Client } from '../helpers/fakes';

const ours = {
  [PROVENANCE.sourceEtag]: 'legacy-etag',
  [PROVENANCE.plaintextSha256]: 'ab'.repeat(32),
  [PROVENANCE.plaintextSize]: '5',
};
const copy = { sourceEtag: 'legacy-etag' };
const preconditionFailed = Object.assign(new Error('PreconditionFailed'), {
  name: 'PreconditionFailed',
  $metadata: { httpStatusCode: 412 },
});

function target() {
  const client = offlineS3Client();
  const mock = mockClient(client);
  const t: Target = { client, bucket: 'new', sse: { ServerSideEncryption: 'AES256' }, partSize: 1, queueSize: 1 };
  return { t, mock };
}

describe('deleteIfStill', () => {
  test('the copy is still there: deleted with If-Match on the ETag the HEAD saw', async () => {
    const { t, mock } = target();
    mock.on(HeadObjectCommand).resolves({ ETag: '"copy"', Metadata: ours, ContentLength: 5 });
    mock.on(DeleteObjectCommand).resolves({});
    expect(await deleteIfStill(t, 'k', (now) => holdsOwnCopy(now, copy))).toBe('deleted');
    expect(mock.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'new',
      Key: 'k',
      IfMatch: '"copy"',
    });
  });

  test('the app wrote the key between the HEAD and the delete: S3 refuses the delete (412), the app write stays', async () => {
    const { t, mock } = target();
    mock.on(HeadObjectCommand).resolves({ ETag: '"copy"', Metadata: ours, ContentLength: 5 });
    mock.on(DeleteObjectCommand).rejects(preconditionFailed);
    expect(await deleteIfStill(t, 'k', (now) => holdsOwnCopy(now, copy))).toBe('not-ours');
  });

  test("the key holds the app's write, or another version: no delete is sent", async () => {
    const { t, mock } = target();
    mock
      .on(HeadObjectCommand)
      .resolvesOnce({ ETag: '"app"', Metadata: {}, ContentLength: 9 })
      .resolves({ ETag: '"copy"', Metadata: ours, VersionId: 'v2' });
    expect(await deleteIfStill(t, 'k', (now) => holdsOwnCopy(now, copy))).toBe('not-ours');
    expect(await deleteIfStill(t, 'k', (now) => holdsOwnCopy(now, { ...copy, versionId: 'v1' }))).toBe('not-ours');
    expect(mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });
});
