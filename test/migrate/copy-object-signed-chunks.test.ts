/**
 * copyObject's one pass in signed chunks (migrate/copy-object.ts) where a server answers the conditional PUT with 412
 * before the body is in. RGW 16 answers once the body is in (test/integration/signed-chunks-rig.test.ts, where the
 * path runs end to end); a server that answers earlier leaves the plaintext not read to its end: the copy is still
 * "kept as the app wrote it", and the hash it could not finish is recorded as unknown (null), never as the hash of a
 * part. The PUT is stood in for (jest.mock of putSignedChunks: it reads one piece of the body, then answers 412, as
 * such a server would); the legacy GET and the HEAD that explains the 412 are the SDK's, mocked.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import { largeObjectWrite, PROBE_PREFIX } from '../../migrator/src/migrate/conditional-write-probe';
import { putSignedChunks } from '../../migrator/src/objects/write-new';
import { identityCodec, mockedCopyDeps, offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

jest.mock('../../migrator/src/objects/write-new', () => ({
  ...jest.requireActual('../../migrator/src/objects/write-new'),
  putSignedChunks: jest.fn(),
}));

test('a 412 before the body is in: kept as the app wrote it, the unfinished hash recorded as unknown', async () => {
  const stored = randomBytes(12 * MIB);
  let readBeforeAnswer = 0;
  jest.mocked(putSignedChunks).mockImplementation(async (_t, _o, body) => {
    for await (const piece of body) {
      readBeforeAnswer += (piece as Buffer).length;
      break; // answered after the first piece
    }
    body.destroy();
    return { written: false };
  });
  const source = offlineS3Client();
  const target = offlineS3Client();
  mockClient(source)
    .on(GetObjectCommand)
    .callsFake(() => ({
      Body: Readable.from([stored.subarray(0, MIB), stored.subarray(MIB)]),
      ContentLength: stored.length,
      ETag: '"legacy-etag"',
    }));
  const dst = mockClient(target);
  dst.on(HeadObjectCommand).resolves({ ContentLength: 30, ETag: '"app-etag"', Metadata: {} }); // no provenance
  const signedChunks = largeObjectWrite({
    key: `${PROBE_PREFIX}forced`,
    put: 'enforced',
    completeMultipartUpload: 'ignored',
    signedChunks: 'verified',
    cleanedUp: true,
  });
  const deps = { ...mockedCopyDeps(source, target, signedChunks), codec: identityCodec };
  const outcome = await copyObject({ key: 'photos/scan.jpg' }, deps, new AbortController().signal);
  expect(jest.mocked(putSignedChunks)).toHaveBeenCalledTimes(1);
  expect(jest.mocked(putSignedChunks).mock.calls[0][3]).toBe(stored.length); // the declared plaintext size
  expect(jest.mocked(putSignedChunks).mock.calls[0][1].metadata).toMatchObject({
    'bucketmove-integrity': 'signed-chunks',
  });
  expect(readBeforeAnswer).toBeLessThan(stored.length);
  expect(outcome).toMatchObject({
    state: 'kept-app-version',
    etag: 'legacy-etag',
    plaintextSha256: null,
    plaintextSize: null,
  });
});
