/**
 * Which way the legacy GET goes (objects/read-legacy.ts): on AWS's default response checksum validation
 * ("WHEN_SUPPORTED") the SDK validates S3's checksum of the body, so a GET whose body nobody else checks stays on the
 * SDK; a GET read by a codec that authenticates every byte (Fernet, AES-GCM: codec.ts `authenticated`) takes the light
 * request path there too. And the two codecs say they authenticate.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { HttpResponse } from '@smithy/core/protocols';
import { Readable } from 'stream';
import { enableLightPath } from '../../migrator/src/aws/light-s3';
import { readLegacy } from '../../migrator/src/objects/read-legacy';
import { AesGcmCodec } from '../../migrator/src/codec/aes-gcm';
import { FernetCodec, generateFernetKey } from '../../migrator/src/codec/fernet';

function awsClient(seen: Array<Record<string, string>>): S3Client {
  const client = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (req: { headers: Record<string, string> }) => {
        seen.push({ ...req.headers });
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { etag: '"abc"', 'content-length': '5', 'x-amz-meta-who': 'legacy app' },
            body: Readable.from([Buffer.from('bytes')]),
          }),
        };
      },
    },
  });
  return enableLightPath(client, 'light');
}

describe('the legacy GET on AWS defaults', () => {
  test('a body the codec authenticates goes the light way; any other stays on the SDK, which validates its checksum', async () => {
    const seen: Array<Record<string, string>> = [];
    const client = awsClient(seen);
    const light = await readLegacy(client, 'legacy-photos', 'a/1.jpg', { authenticatedBody: true });
    const sdk = await readLegacy(client, 'legacy-photos', 'a/1.jpg');
    for (const got of [light!, sdk!]) {
      expect(got).toMatchObject({ size: 5, etag: 'abc', metadata: { who: 'legacy app' } });
      got.body.resume();
    }
    // The SDK's request carries its invocation id and asks for the checksum; the light path's does neither.
    expect(seen[0]['amz-sdk-invocation-id']).toBeUndefined();
    expect(seen[0]['x-amz-checksum-mode']).toBeUndefined();
    expect(seen[1]['amz-sdk-invocation-id']).toBeDefined();
    expect(seen[1]['x-amz-checksum-mode']).toBe('ENABLED');
    client.destroy();
  });

  test('Fernet and AES-256-GCM authenticate every byte they decrypt', () => {
    expect(new FernetCodec([generateFernetKey()], { storage: 'auto', maxObjectBytes: 1024 }).authenticated).toBe(true);
    expect(
      new AesGcmCodec([Buffer.alloc(32, 1).toString('base64')], { aad: 'object-key', maxObjectBytes: 1024 })
        .authenticated,
    ).toBe(true);
  });
});
