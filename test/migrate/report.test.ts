import { csvLine, encodeKey, parseCsvLine } from '../../migrator/src/report/batch-csv';
import { largeObjectsLine, reportRow } from '../../migrator/src/migrate/report';
import { largeObjectWrite } from '../../migrator/src/migrate/conditional-write-probe';
import { AWS_LARGE_OBJECTS, AWS_ONE_PASS_LARGE_OBJECTS, RGW_LARGE_OBJECTS } from '../helpers/fakes';
import type { ObjectRow } from '../../migrator/src/objects/records';

const row = (over: Partial<ObjectRow>): ObjectRow => ({
  key: 'chats/1/photos/a.jpg',
  size: 10,
  etag: 'e',
  state: 'copied',
  attempts: 1,
  versionId: null,
  errorCode: null,
  errorMessage: null,
  httpStatus: null,
  plaintextSha256: 'ab'.repeat(32),
  plaintextSize: 5,
  newVersionId: null,
  rechecked: true,
  updatedAt: null,
  ...over,
});

describe('Report_CSV_20180820', () => {
  test('keys are URL-encoded as S3 encodes them, "/" kept', () => {
    expect(encodeKey('chats/a b+c%d/\u00fc(1)!.jpg')).toBe('chats/a%20b%2Bc%25d/%C3%BC%281%29%21.jpg');
  });
  test('seven columns, quoted where needed, and it parses back', () => {
    const line = csvLine(
      reportRow(
        'old',
        row({ state: 'quarantined', errorCode: 'Codec.auth', errorMessage: 'tag, "bad"', versionId: 'v1' }),
      ),
    );
    expect(parseCsvLine(line)).toEqual([
      'old',
      'chats/1/photos/a.jpg',
      'v1',
      'failed',
      'Codec.auth',
      '',
      'Quarantined: tag, "bad"',
    ]);
  });
  test('legitimate outcomes succeed; pending and failed do not', () => {
    const f = (state: ObjectRow['state']) => parseCsvLine(csvLine(reportRow('old', row({ state }))));
    expect(f('copied').slice(3, 6)).toEqual(['succeeded', '', '200']);
    expect(f('kept-app-version').slice(3, 6)).toEqual(['succeeded', '', '412']);
    expect(f('vanished').slice(3, 6)).toEqual(['succeeded', '', '404']);
    expect(f('pending').slice(3, 5)).toEqual(['failed', 'NotAttempted']);
    expect(f('failed')[3]).toBe('failed');
  });
});

describe('the line on how large objects were written', () => {
  test('names the path and the probe result behind it, and a probe key left behind', () => {
    expect(largeObjectsLine(AWS_LARGE_OBJECTS)).toBe(
      'large objects (above the part size): multipart uploads completed with If-None-Match, because the new bucket refuses a CompleteMultipartUpload with If-None-Match over an existing key (probed at start)',
    );
    expect(largeObjectsLine(RGW_LARGE_OBJECTS)).toBe(
      'large objects (above the part size): one streamed PutObject with If-None-Match each, because the new bucket ignores If-None-Match on CompleteMultipartUpload (probed at start), so a multipart upload could overwrite an app write; objects over the 5368709120-byte single-PUT limit are quarantined; each is read twice (hash, then upload)',
    );
    const rgwSignedChunks = largeObjectWrite({ ...RGW_LARGE_OBJECTS.probe!, signedChunks: 'verified' });
    expect(largeObjectsLine(rgwSignedChunks)).toBe(
      'large objects (above the part size): one streamed PutObject with If-None-Match each, in SigV4 signed chunks where read once, because the new bucket ignores If-None-Match on CompleteMultipartUpload (probed at start), so a multipart upload could overwrite an app write; objects over the 5368709120-byte single-PUT limit are quarantined; it checks SigV4 signed chunks as they arrive (probed), so each whose plaintext size the codec tells from its stored size (AES-256-GCM) is read and decrypted once and streamed in signed chunks; others (Fernet, whose padding hides the size until the end) are read twice (hash, then upload)',
    );
    for (const [found, reason] of [
      ['ignored', 'it does not refuse an altered signed chunk (probed), so each is read twice (hash, then upload)'],
      [
        'unavailable',
        'the SDK request path sends no signed chunks (BUCKETMOVE_S3_HOT_PATH=sdk), so each is read twice (hash, then upload)',
      ],
    ] as const) {
      const l = largeObjectWrite({ ...RGW_LARGE_OBJECTS.probe!, signedChunks: found });
      expect(l.onePass).toBe(false);
      expect(largeObjectsLine(l).endsWith(`quarantined; ${reason}`)).toBe(true);
    }
    expect(largeObjectsLine(AWS_ONE_PASS_LARGE_OBJECTS)).toBe(
      'large objects (above the part size): read once, multipart uploads completed with If-None-Match and a full-object CRC32, because the new bucket refuses a CompleteMultipartUpload with If-None-Match over an existing key and verifies a full-object CRC32 given at completion (probed at start): each is read and decrypted once',
    );
    const left = { ...RGW_LARGE_OBJECTS, probe: { ...RGW_LARGE_OBJECTS.probe!, cleanedUp: false } };
    expect(largeObjectsLine(left)).toMatch(
      /; the probe left \.bucketmove\/probe\/mocked behind \(the audit leaves its prefix out\)$/,
    );
  });
});
