/**
 * The gateway's SigV4 verifier (migrator/src/gateway/sigv4-verify.ts) and aws-chunked decoder, cross-checked against
 * the SDK's own signer (@smithy/signature-v4) and AWS's published chunked-upload example (Amazon S3 API Reference,
 * sigv4-streaming.html, "Example: PUT Object": seed and chunk signatures of a 66,560-byte upload).
 */
import { createHash, createHmac } from 'crypto';
import { crc32 } from 'zlib';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { decodeAwsChunked } from '../../migrator/src/gateway/aws-chunked';
import { checkedBody } from '../../migrator/src/gateway/body';
import { s3CodeOf } from '../helpers/s3-error';
import {
  EMPTY_SHA256,
  hmacHex,
  sha256Hex,
  uriEncode,
  verifyRequest,
  type SignedRequest,
  type Verified,
} from '../../migrator/src/gateway/sigv4-verify';

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

const APP = { accessKeyId: 'AKIDGATEWAYTEST', secretAccessKey: 'gateway/test+secret/key' };
const REGION = 'eu-west-1';
const NOW = new Date('2026-11-30T12:00:00Z');
const signer = (secretAccessKey = APP.secretAccessKey, region = REGION) =>
  new SignatureV4({
    credentials: { accessKeyId: APP.accessKeyId, secretAccessKey },
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });

function request(
  path: string,
  o: { method?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string } = {},
): HttpRequest {
  return {
    method: o.method ?? 'GET',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9080,
    path,
    query: o.query ?? {},
    headers: { host: '127.0.0.1:9080', 'x-amz-content-sha256': sha256Hex(o.body ?? ''), ...o.headers },
    body: o.body,
  } as HttpRequest;
}

/** What the server sees of a signed request: the raw URL (the SDK encodes the path and query this way) and headers. */
function received(r: HttpRequest): SignedRequest {
  const q = Object.entries(r.query ?? {})
    .map(([k, v]) => `${uriEncode(k)}=${uriEncode(String(v))}`)
    .join('&');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  return { method: r.method, url: r.path + (q ? `?${q}` : ''), headers };
}

const verify = (r: SignedRequest, now = NOW) => verifyRequest(r, { credentials: [APP], region: REGION, now });
const codeOf = s3CodeOf;

describe('header-signed requests (Authorization: AWS4-HMAC-SHA256), signed by @smithy/signature-v4', () => {
  test('a GET with a signed empty payload, an odd key and a query verifies', async () => {
    const r = await signer().sign(
      request('/bucket/photos/a%20b%2Bc~%C3%A9%2A.jpg', {
        query: { 'response-content-type': 'image/jpeg' },
        headers: { range: 'bytes=0-9' },
      }),
      { signingDate: NOW },
    );
    const v = verify(received(r));
    expect(v.accessKeyId).toBe(APP.accessKeyId);
    expect(v.payload).toEqual({ kind: 'sha256', hex: EMPTY_SHA256 });
    expect(v.presigned).toBe(false);
  });

  test('UNSIGNED-PAYLOAD verifies and is reported as unsigned', async () => {
    const r = await signer().sign(
      request('/bucket/k', { method: 'PUT', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }),
      { signingDate: NOW },
    );
    expect(verify(received(r)).payload).toEqual({ kind: 'unsigned' });
  });

  test('a tampered signed header, path or query is SignatureDoesNotMatch', async () => {
    const r = received(
      await signer().sign(request('/bucket/k', { headers: { range: 'bytes=0-9' } }), { signingDate: NOW }),
    );
    expect(codeOf(() => verify({ ...r, headers: { ...r.headers, range: 'bytes=0-99' } }))).toBe(
      '403 SignatureDoesNotMatch',
    );
    expect(codeOf(() => verify({ ...r, url: '/bucket/other' }))).toBe('403 SignatureDoesNotMatch');
    expect(codeOf(() => verify({ ...r, url: '/bucket/k?x=1' }))).toBe('403 SignatureDoesNotMatch');
    expect(codeOf(() => verify({ ...r, method: 'DELETE' }))).toBe('403 SignatureDoesNotMatch');
  });

  test('a wrong secret is SignatureDoesNotMatch; an unknown key id is InvalidAccessKeyId', async () => {
    const r = received(await signer('not-the-secret').sign(request('/bucket/k'), { signingDate: NOW }));
    expect(codeOf(() => verify(r))).toBe('403 SignatureDoesNotMatch');
    const other = received(
      await new SignatureV4({
        credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' },
        region: REGION,
        service: 's3',
        sha256: NodeSha256,
      }).sign(request('/bucket/k'), { signingDate: NOW }),
    );
    expect(codeOf(() => verify(other))).toBe('403 InvalidAccessKeyId');
  });

  test('a clock more than 15 minutes off is RequestTimeTooSkewed; 14 minutes passes', async () => {
    const r = received(await signer().sign(request('/bucket/k'), { signingDate: NOW }));
    expect(codeOf(() => verify(r, new Date(NOW.getTime() + 16 * 60_000)))).toBe('403 RequestTimeTooSkewed');
    expect(codeOf(() => verify(r, new Date(NOW.getTime() - 16 * 60_000)))).toBe('403 RequestTimeTooSkewed');
    expect(codeOf(() => verify(r, new Date(NOW.getTime() + 14 * 60_000)))).toBe('passed');
  });

  test('another region is AuthorizationHeaderMalformed; no signature at all is AccessDenied', async () => {
    const r = received(await signer(APP.secretAccessKey, 'us-east-1').sign(request('/bucket/k'), { signingDate: NOW }));
    expect(codeOf(() => verify(r))).toBe('400 AuthorizationHeaderMalformed');
    expect(codeOf(() => verify({ method: 'GET', url: '/bucket/k', headers: { host: 'h' } }))).toBe('403 AccessDenied');
    expect(
      codeOf(() => verify({ method: 'GET', url: '/bucket/k', headers: { host: 'h', authorization: 'AWS AKID:sig' } })),
    ).toBe('400 InvalidRequest');
  });

  test('a header-signed request without x-amz-content-sha256 is refused (S3 requires it)', async () => {
    const req = request('/bucket/k');
    delete (req.headers as Record<string, string>)['x-amz-content-sha256'];
    const r = received(await signer().sign(req, { signingDate: NOW }));
    expect(codeOf(() => verify(r))).toBe('400 InvalidRequest');
  });
});

describe('presigned URLs (X-Amz-* query parameters), presigned by @smithy/signature-v4', () => {
  const presign = async (expiresIn: number, path = '/bucket/photos/p%201.jpg') => {
    // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, and the URL alone travels.
    const req = request(path, { headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const r = received(await signer().presign(req, { signingDate: NOW, expiresIn }));
    return { ...r, headers: { host: r.headers.host } };
  };

  test('a presigned GET verifies within its lifetime, as an unsigned payload', async () => {
    const r = await presign(3600);
    const v = verify(r, new Date(NOW.getTime() + 3599_000));
    expect(v.presigned).toBe(true);
    expect(v.payload).toEqual({ kind: 'unsigned' });
  });

  test('an expired presigned URL is AccessDenied; X-Amz-Expires over 7 days is refused', async () => {
    const r = await presign(60);
    expect(codeOf(() => verify(r, new Date(NOW.getTime() + 61_000)))).toBe('403 AccessDenied');
    // The SDK refuses to presign for more than a week itself: change the parameter after signing.
    const week = await presign(604800);
    expect(codeOf(() => verify(week))).toBe('passed');
    expect(
      codeOf(() => verify({ ...week, url: week.url.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801') })),
    ).toBe('400 AuthorizationQueryParametersError');
  });

  test('a tampered presigned URL is SignatureDoesNotMatch', async () => {
    const r = await presign(3600);
    expect(
      codeOf(() => verify({ ...r, url: r.url.replace('/bucket/photos/p%201.jpg', '/bucket/photos/p%202.jpg') })),
    ).toBe('403 SignatureDoesNotMatch');
    expect(codeOf(() => verify({ ...r, url: r.url.replace('X-Amz-Expires=3600', 'X-Amz-Expires=7200') }))).toBe(
      '403 SignatureDoesNotMatch',
    );
  });
});

describe('payload checks (body.ts)', () => {
  const auth = (payload: Verified['payload']): Verified => ({
    accessKeyId: 'a',
    payload,
    signingKey: Buffer.alloc(32),
    amzDate: '',
    scope: '',
    seedSignature: '',
    presigned: false,
  });
  const req = (headers: Record<string, string>) => ({ headers }) as never;

  test('a signed payload whose SHA-256 differs is XAmzContentSHA256Mismatch', () => {
    const body = Buffer.from('photo bytes');
    expect(checkedBody(req({}), body, auth({ kind: 'sha256', hex: sha256Hex(body) }))).toEqual(body);
    expect(codeOf(() => checkedBody(req({}), body, auth({ kind: 'sha256', hex: sha256Hex('other') })))).toBe(
      '400 XAmzContentSHA256Mismatch',
    );
  });

  test('Content-MD5 and x-amz-checksum-crc32 / -sha256 are checked: BadDigest, InvalidDigest', () => {
    const body = Buffer.from('photo bytes');
    const md5 = createHash('md5').update(body).digest('base64');
    const sha = createHash('sha256').update(body).digest('base64');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    const u = auth({ kind: 'unsigned' });
    expect(
      checkedBody(
        req({ 'content-md5': md5, 'x-amz-checksum-sha256': sha, 'x-amz-checksum-crc32': crc.toString('base64') }),
        body,
        u,
      ),
    ).toEqual(body);
    expect(
      codeOf(() => checkedBody(req({ 'content-md5': createHash('md5').update('x').digest('base64') }), body, u)),
    ).toBe('400 BadDigest');
    expect(codeOf(() => checkedBody(req({ 'content-md5': 'not-md5' }), body, u))).toBe('400 InvalidDigest');
    expect(codeOf(() => checkedBody(req({ 'x-amz-checksum-crc32': 'AAAAAA==' }), body, u))).toBe('400 BadDigest');
    expect(
      codeOf(() =>
        checkedBody(req({ 'x-amz-checksum-sha256': createHash('sha256').update('x').digest('base64') }), body, u),
      ),
    ).toBe('400 BadDigest');
    expect(codeOf(() => checkedBody(req({ 'x-amz-checksum-crc32c': 'AAAAAA==' }), body, u))).toBe('501 NotImplemented');
  });
});

describe('aws-chunked bodies', () => {
  // AWS's example (sigv4-streaming.html): secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 20130524T000000Z,
  // us-east-1, PUT /examplebucket/chunkObject.txt, 65536 + 1024 bytes of "a", then the final empty chunk.
  const EXAMPLE = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const CHUNKS = [
    { size: 65536, sig: 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648' },
    { size: 1024, sig: '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497' },
    { size: 0, sig: 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9' },
  ];
  const exampleRequest: SignedRequest = {
    method: 'PUT',
    url: '/examplebucket/chunkObject.txt',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${SEED}`,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
    },
  };
  const body = (chunks = CHUNKS) =>
    Buffer.concat(
      chunks.flatMap((c) => [
        Buffer.from(`${c.size.toString(16)};chunk-signature=${c.sig}\r\n`),
        Buffer.alloc(c.size, 'a'),
        Buffer.from('\r\n'),
      ]),
    );
  const exampleAuth = () =>
    verifyRequest(exampleRequest, {
      credentials: [EXAMPLE],
      region: 'us-east-1',
      now: new Date('2013-05-24T00:05:00Z'),
    });

  test("AWS's example: the seed signature verifies, every chunk signature verifies, the body decodes", () => {
    const auth = exampleAuth();
    expect(auth.payload).toEqual({ kind: 'streaming-signed', trailer: false });
    const raw = body();
    expect(raw.length).toBe(66824);
    const out = decodeAwsChunked(raw, auth, 66560);
    expect(out.body.equals(Buffer.alloc(66560, 'a'))).toBe(true);
  });

  test('a tampered chunk, a reordered chain or a wrong decoded length is refused', () => {
    const auth = exampleAuth();
    const tampered = body();
    tampered[200] = 'b'.charCodeAt(0);
    expect(codeOf(() => decodeAwsChunked(tampered, auth, 66560))).toBe('403 SignatureDoesNotMatch');
    const swapped = [CHUNKS[0], { ...CHUNKS[1], sig: CHUNKS[2].sig }, { ...CHUNKS[2], sig: CHUNKS[1].sig }];
    expect(codeOf(() => decodeAwsChunked(body(swapped), auth, 66560))).toBe('403 SignatureDoesNotMatch');
    expect(codeOf(() => decodeAwsChunked(body(), auth, 66561))).toBe('400 IncompleteBody');
    expect(codeOf(() => decodeAwsChunked(body().subarray(0, 70000 - 4000), auth, 66560))).toBe('400 IncompleteBody');
  });

  test('a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) is verified and its checksum read', () => {
    const base = exampleAuth();
    const auth: Verified = { ...base, payload: { kind: 'streaming-signed', trailer: true } };
    const data = Buffer.from('hello');
    const sign = (prev: string, chunk: Buffer) =>
      hmacHex(
        auth.signingKey,
        ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, prev, EMPTY_SHA256, sha256Hex(chunk)].join('\n'),
      );
    const s1 = sign(auth.seedSignature, data);
    const s2 = sign(s1, Buffer.alloc(0));
    const trailer = 'x-amz-checksum-crc32:NhCmhg==';
    const tsig = hmacHex(
      auth.signingKey,
      ['AWS4-HMAC-SHA256-TRAILER', auth.amzDate, auth.scope, s2, sha256Hex(`${trailer}\n`)].join('\n'),
    );
    const raw = (sig: string) =>
      Buffer.from(
        `5;chunk-signature=${s1}\r\nhello\r\n0;chunk-signature=${s2}\r\n${trailer}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`,
      );
    const out = decodeAwsChunked(raw(tsig), auth, 5);
    expect(out.body.toString()).toBe('hello');
    expect(out.trailers).toEqual({ 'x-amz-checksum-crc32': 'NhCmhg==' });
    expect(codeOf(() => decodeAwsChunked(raw(s2), auth, 5))).toBe('403 SignatureDoesNotMatch');
  });

  test('STREAMING-UNSIGNED-PAYLOAD-TRAILER: chunks without signatures, the trailer checksum checked by body.ts', () => {
    const auth: Verified = { ...exampleAuth(), payload: { kind: 'streaming-unsigned-trailer' } };
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.from('hello')) >>> 0);
    const raw = (c: string) => Buffer.from(`5\r\nhello\r\n0\r\nx-amz-checksum-crc32:${c}\r\n\r\n`);
    const req = { headers: { 'x-amz-decoded-content-length': '5' } } as never;
    expect(checkedBody(req, raw(crc.toString('base64')), auth).toString()).toBe('hello');
    expect(codeOf(() => checkedBody(req, raw('AAAAAA=='), auth))).toBe('400 BadDigest');
  });
});
