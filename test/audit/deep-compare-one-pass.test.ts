/**
 * deepCompare of a one-pass copy (its provenance names no SHA-256): both sides are hashed against the checkpoint's
 * SHA-256 that judgeKey hands on; without one, against each other. Mocked reads, identity codec.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { deepCompare } from '../../migrator/src/audit/deep-compare';
import type { Provenance } from '../../migrator/src/objects/provenance';
import { identityCodec, offlineS3Client } from '../helpers/fakes';

const plaintext = Buffer.from('the photo, decrypted');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function deps(newBytes: Buffer) {
  const legacy = offlineS3Client();
  const current = offlineS3Client();
  mockClient(legacy)
    .on(GetObjectCommand)
    .callsFake(() => ({ Body: Readable.from([plaintext]), ContentLength: plaintext.length, ETag: '"e1"' }));
  mockClient(current)
    .on(GetObjectCommand)
    .callsFake(() => ({ Body: Readable.from([newBytes]), ContentLength: newBytes.length }));
  return {
    legacy: { client: legacy, bucket: 'old' },
    current: { client: current, bucket: 'new' },
    codec: identityCodec,
  };
}
const onePass: Provenance = {
  sourceEtag: 'e1',
  sourceVersionId: 'null',
  migratedAt: '2025-06-01T10:00:00.000Z',
  integrity: 'full-object-crc32',
};

test("both sides against the checkpoint's SHA-256 and size: equal, then a copy that differs", async () => {
  const expected = { ...onePass, plaintextSha256: sha(plaintext), plaintextSize: plaintext.length };
  expect((await deepCompare('k', 'e1', expected, deps(plaintext))).findings).toEqual([]);
  const bad = Buffer.from('the photo, decrypteD');
  expect((await deepCompare('k', 'e1', expected, deps(bad))).findings.map((f) => f.kind)).toEqual(['hash-mismatch']);
});

test('without a SHA-256 from the checkpoint, the new bytes are compared with the legacy plaintext', async () => {
  expect((await deepCompare('k', 'e1', onePass, deps(plaintext))).findings).toEqual([]);
  const r = await deepCompare('k', 'e1', onePass, deps(Buffer.from('something else')));
  expect(r.findings).toEqual([
    {
      key: 'k',
      kind: 'hash-mismatch',
      message: `deep: the new object's bytes hash to ${sha(Buffer.from('something else'))}; the legacy plaintext to ${sha(plaintext)}`,
    },
  ]);
});
