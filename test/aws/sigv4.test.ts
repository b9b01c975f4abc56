/**
 * The light path's signer (migrator/src/aws/sigv4.ts HeaderSigner) against the SDK's (@smithy/signature-v4) on the
 * same requests: the same Authorization, x-amz-date and x-amz-security-token, byte for byte; and its signing key
 * cache: derived again when the day or the credentials change, never reused across them.
 */
import { createHash, createHmac } from 'crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { extendedEncodeURIComponent, HttpRequest } from '@smithy/core/protocols';
import { EMPTY_SHA256, HeaderSigner, signingKey, type SigningCredentials } from '../../migrator/src/aws/sigv4';

const KEYS: SigningCredentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const TEMPORARY: SigningCredentials = {
  accessKeyId: 'ASIAEXAMPLETEMPORARY',
  secretAccessKey: 'c2VjcmV0IHRoYXQgaXMgb25seSBhIHRlc3Qgb25l',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN+with/slashes=',
};

/** The SDK's checksum interface on Node's crypto (what @smithy/hash-node does): HMAC with a secret, else a hash. */
class NodeSha256 {
  private readonly h;
  constructor(secret?: Data) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Data): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}
type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data): string | Buffer =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

interface Case {
  readonly what: string;
  readonly method: string;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly query?: Record<string, string>;
}

const body = Buffer.from('a photo, decrypted');
const CASES: Case[] = [
  { what: 'a GET', method: 'GET', key: 'photos/1.jpg', headers: {} },
  { what: 'a HEAD of a key with odd characters', method: 'HEAD', key: "a b/ü+%/(x)*!~'.jpg", headers: {} },
  {
    what: 'a ListObjectsV2 (a query string: odd characters in the prefix and start-after, a token with / + =)',
    method: 'GET',
    key: '',
    headers: {},
    query: {
      'list-type': '2',
      prefix: "a b/ü+%/(x)*!~'",
      'start-after': "a b/ü+%/(x)*!~'.jp",
      'continuation-token': '1/2+3==',
      'max-keys': '1000',
    },
  },
  {
    what: 'a conditional PUT with metadata, SSE, checksum and unsigned headers',
    method: 'PUT',
    key: 'users/42/photo 7.jpg',
    body,
    headers: {
      'content-type': 'image/jpeg',
      'cache-control': 'max-age=60',
      'content-disposition': 'inline;  filename="photo  7.jpg" ',
      'if-none-match': '*',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:111122223333:key/abc',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      'x-amz-checksum-sha256': createHash('sha256').update(body).digest('base64'),
      'x-amz-meta-bucketmove-source-etag': '"0123456789abcdef0123456789abcdef"',
      'x-amz-meta-note': '  two   spaces  inside ',
      'user-agent': 'bucketmove',
      'content-length': String(body.length),
    },
  },
];

async function sdkSigned(c: Case, creds: SigningCredentials, at: Date, region: string, path: string) {
  const signer = new SignatureV4({
    credentials: creds,
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const payload = c.body ? createHash('sha256').update(c.body).digest('hex') : EMPTY_SHA256;
  const req = new HttpRequest({
    method: c.method,
    protocol: 'https:',
    hostname: 'photos-prod.s3.eu-west-1.amazonaws.com',
    path,
    headers: { host: 'photos-prod.s3.eu-west-1.amazonaws.com', 'x-amz-content-sha256': payload, ...c.headers },
    query: c.query,
    body: c.body,
  });
  return (await signer.sign(req, { signingDate: at })).headers;
}

describe('HeaderSigner signs as the SDK signs', () => {
  const at = new Date('2026-11-30T19:20:05.123Z');
  for (const creds of [KEYS, TEMPORARY]) {
    for (const c of CASES) {
      test(`${c.what}, ${creds.sessionToken ? 'temporary' : 'long-term'} credentials`, async () => {
        const path = `/${c.key.split('/').map(extendedEncodeURIComponent).join('/')}`;
        const expected = await sdkSigned(c, creds, at, 'eu-west-1', path);
        const headers: Record<string, string> = {
          host: 'photos-prod.s3.eu-west-1.amazonaws.com',
          'x-amz-content-sha256': c.body ? createHash('sha256').update(c.body).digest('hex') : EMPTY_SHA256,
          ...c.headers,
        };
        new HeaderSigner('eu-west-1').sign(c.method, path, headers, creds, at, c.query);
        expect(headers.authorization).toBe(expected.authorization);
        expect(headers['x-amz-date']).toBe('20261130T192005Z');
        expect(headers['x-amz-date']).toBe(expected['x-amz-date']);
        expect(headers['x-amz-security-token']).toBe(expected['x-amz-security-token']);
        // Unsignable headers stay out of SignedHeaders, as in the SDK's.
        expect(headers.authorization).not.toMatch(/SignedHeaders=[^,]*(cache-control|user-agent)/);
      });
    }
  }
});

describe('the signing key cache', () => {
  const sign = (signer: HeaderSigner, creds: SigningCredentials, at: Date) => {
    const headers: Record<string, string> = { host: 'h', 'x-amz-content-sha256': EMPTY_SHA256 };
    signer.sign('GET', '/k', headers, creds, at);
    return /Signature=([0-9a-f]{64})$/.exec(headers.authorization)![1];
  };

  test('a new day or new credentials (a refreshed role session) sign with their own key, never the cached one', async () => {
    const signer = new HeaderSigner('us-east-1');
    const fresh = (creds: SigningCredentials, at: Date) => sign(new HeaderSigner('us-east-1'), creds, at);
    const day1 = new Date('2026-11-30T23:59:59Z');
    const day2 = new Date('2026-12-01T00:00:01Z');
    const refreshed = { ...TEMPORARY, secretAccessKey: 'another secret of a refreshed session', sessionToken: 'T2' };
    for (const [creds, at] of [
      [KEYS, day1],
      [KEYS, day1],
      [KEYS, day2],
      [TEMPORARY, day2],
      [refreshed, day2],
      [KEYS, day2],
    ] as const) {
      expect(sign(signer, creds, at)).toBe(fresh(creds, at));
    }
  });

  test("the key is AWS's derivation (the SigV4 documentation's example key for 20150830, us-east-1, iam)", () => {
    // "Create a signing key for AWS Signature Version 4" (AWS General Reference), the example's derived key.
    expect(signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830', 'us-east-1', 'iam').toString('hex')).toBe(
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    );
  });
});
