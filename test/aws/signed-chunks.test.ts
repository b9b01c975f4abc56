/**
 * SigV4 signed chunks (migrator/src/aws/signed-chunks.ts) and the light path's streamed PUT that sends them:
 * - AWS's published example ("Example: PUT Object", sigv4-streaming.html): 66,560 bytes of "a" in 64 KiB chunks;
 *   its seed signature, its three chunk signatures and its Content-Length, byte for byte;
 * - the gateway's decoder (gateway/aws-chunked.ts), which checks every chunk's signature, reads back what was framed,
 *   for sizes around the chunk boundaries; signedChunkedLength is the framed length for each;
 * - the last data chunk leaves only once the source has ended cleanly (RGW 16 stores an object as soon as the declared
 *   bytes are in, without waiting for the terminal chunk: measured on the rig), and a source that brings more or fewer
 *   bytes than declared fails the body;
 * - putSignedChunks against a mock S3: a valid request (SigV4 verified, chunks decoded), If-None-Match, not retried, a
 *   412 is `written: false`, and a body that fails ends the request at once with the body's own error.
 */
import * as http from 'http';
import { PassThrough, Readable } from 'stream';
import { S3Client } from '@aws-sdk/client-s3';
import { HttpResponse } from '@smithy/core/protocols';
import { createS3Client } from '../../migrator/src/aws/clients';
import { enableLightPath, lightPathOf } from '../../migrator/src/aws/light-s3';
import {
  DEFAULT_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  SignedChunkEncoder,
  signedChunkedLength,
} from '../../migrator/src/aws/signed-chunks';
import { signingKey } from '../../migrator/src/aws/sigv4';
import { decodeAwsChunked } from '../../migrator/src/gateway/aws-chunked';
import { verifyRequest, type Verified } from '../../migrator/src/gateway/sigv4-verify';
import { putSignedChunks, sseParams, type Target } from '../../migrator/src/objects/write-new';
import { closeLocal, listenLocal } from '../helpers/local-http';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of s) parts.push(Buffer.from(p as Buffer));
  return Buffer.concat(parts);
}

describe("AWS's example: PUT Object in signed chunks", () => {
  test('the seed signature, the chunk signatures and the Content-Length are those AWS publishes', async () => {
    let sent: { headers: Record<string, string>; path: string; body: Buffer } | undefined;
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: 'https://s3.amazonaws.com',
      forcePathStyle: true,
      credentials: KEYS,
      requestHandler: {
        handle: async (req: { headers: Record<string, string>; path: string; body: Readable }) => {
          sent = { headers: { ...req.headers }, path: req.path, body: await readAll(req.body) };
          return { response: new HttpResponse({ statusCode: 200, headers: {}, body: Readable.from([]) }) };
        },
      },
    });
    (client.config as { systemClockOffset: number }).systemClockOffset =
      Date.parse('2013-05-24T00:00:00Z') - Date.now();
    enableLightPath(client, 'light');
    await lightPathOf(client)!.send({
      operation: 'PutObject',
      bucket: 'examplebucket',
      key: 'chunkObject.txt',
      headers: { 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      streamed: { body: Readable.from([Buffer.alloc(66560, 'a')]), decodedLength: 66560, chunkSize: 65536 },
    });
    expect(sent!.path).toBe('/examplebucket/chunkObject.txt');
    expect(sent!.headers).toMatchObject({
      host: 's3.amazonaws.com',
      'content-encoding': 'aws-chunked',
      'content-length': '66824',
      'x-amz-decoded-content-length': '66560',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    });
    expect(sent!.headers.authorization.replace(/, /g, ',')).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    );
    const body = sent!.body;
    expect(body.length).toBe(66824);
    const headerLines = body
      .toString('latin1')
      .split('\r\n')
      .filter((l) => /;chunk-signature=/.test(l));
    expect(headerLines).toEqual([
      '10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      '0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]);
    expect(body.subarray(body.length - 4).toString('latin1')).toBe('\r\n\r\n');
  });
});

describe('SignedChunkEncoder', () => {
  const amzDate = '20261202T000000Z';
  const scope = '20261202/us-east-1/s3/aws4_request';
  const key = signingKey(KEYS.secretAccessKey, '20261202', 'us-east-1');
  const seed = { signature: 'a'.repeat(64), amzDate, scope, key };
  const auth: Verified = {
    accessKeyId: KEYS.accessKeyId,
    payload: { kind: 'streaming-signed', trailer: false },
    signingKey: key,
    amzDate,
    scope,
    seedSignature: seed.signature,
    presigned: false,
  };
  const pieces = (data: Buffer, size: number) => {
    const out: Buffer[] = [];
    for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
    return out;
  };

  test.each([0, 1, MIN_CHUNK_SIZE - 1, MIN_CHUNK_SIZE, MIN_CHUNK_SIZE + 1, 3 * MIN_CHUNK_SIZE, 3 * MIN_CHUNK_SIZE + 5])(
    '%i bytes: the gateway decoder checks every chunk and reads them back; the framed length is as computed',
    async (n) => {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
      const framed = await readAll(
        Readable.from(pieces(data, 3000)).pipe(new SignedChunkEncoder(seed, n, MIN_CHUNK_SIZE)),
      );
      expect(framed.length).toBe(signedChunkedLength(n, MIN_CHUNK_SIZE));
      const decoded = decodeAwsChunked(framed, auth, n);
      expect(decoded.body.equals(data)).toBe(true);
      // One byte changed anywhere in the data: the decoder (as a server) refuses the chunk.
      if (n > 0) {
        const altered = Buffer.from(framed);
        altered[framed.indexOf('\r\n') + 2 + Math.floor(Math.min(n, MIN_CHUNK_SIZE) / 2)] ^= 1;
        expect(() => decodeAwsChunked(altered, auth, n)).toThrow(/signature/);
      }
    },
  );

  test('the default chunk is 1 MiB, and the framed length of 1 GiB is what 1,024 chunks and the last make', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(1024 * 1024);
    // Each data chunk: "100000" (6 hex digits), ";chunk-signature=" (17), the signature (64), two CRLFs (4).
    expect(signedChunkedLength(1024 ** 3)).toBe(1024 ** 3 + 1024 * (6 + 17 + 64 + 4) + 86);
    // A size that leaves a short last chunk: 1,023 full ones, then 5 bytes ("5", one hex digit).
    expect(signedChunkedLength(1023 * 1024 ** 2 + 5)).toBe(1023 * (1024 ** 2 + 91) + (1 + 17 + 64 + 4 + 5) + 86);
  });

  test('the last data chunk waits for the clean end of its source; a source that fails never completes the body', async () => {
    const source = new PassThrough();
    const encoder = source.pipe(new SignedChunkEncoder(seed, 2 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE));
    const out: Buffer[] = [];
    encoder.on('data', (b: Buffer) => out.push(b));
    source.write(Buffer.alloc(2 * MIN_CHUNK_SIZE, 1)); // every declared byte, as a GCM decrypt releases them before its tag
    await new Promise((resolve) => setImmediate(resolve));
    const before = Buffer.concat(out);
    // One chunk out; the second (the last) held although it is full.
    expect(before.length).toBe(signedChunkedLength(MIN_CHUNK_SIZE, MIN_CHUNK_SIZE) - 86);
    source.end();
    await new Promise((resolve) => encoder.on('end', resolve));
    expect(Buffer.concat(out).length).toBe(signedChunkedLength(2 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE));

    const failing = new PassThrough();
    const enc2 = new SignedChunkEncoder(seed, 2 * MIN_CHUNK_SIZE, MIN_CHUNK_SIZE);
    failing.on('error', (err) => enc2.destroy(err));
    failing.pipe(enc2);
    const out2: Buffer[] = [];
    enc2.on('data', (b: Buffer) => out2.push(b));
    const failed = new Promise((resolve) => enc2.on('error', resolve));
    failing.write(Buffer.alloc(2 * MIN_CHUNK_SIZE, 1));
    await new Promise((resolve) => setImmediate(resolve));
    failing.destroy(new Error('the tag does not verify'));
    expect(((await failed) as Error).message).toBe('the tag does not verify');
    expect(Buffer.concat(out2).length).toBe(signedChunkedLength(MIN_CHUNK_SIZE, MIN_CHUNK_SIZE) - 86);
  });

  test('a source that brings more or fewer bytes than declared fails; chunks under 8 KiB are refused', async () => {
    await expect(
      readAll(Readable.from([Buffer.alloc(10)]).pipe(new SignedChunkEncoder(seed, 9, MIN_CHUNK_SIZE))),
    ).rejects.toThrow('the body brought more than the 9 bytes its request declared');
    await expect(
      readAll(Readable.from([Buffer.alloc(8)]).pipe(new SignedChunkEncoder(seed, 9, MIN_CHUNK_SIZE))),
    ).rejects.toThrow('the body ended after 8 of the 9 bytes its request declared');
    expect(() => new SignedChunkEncoder(seed, 9, 4096)).toThrow('a signed chunk must be at least 8192 bytes');
  });
});

describe('putSignedChunks against a mock S3', () => {
  let server: http.Server;
  let answer: (res: http.ServerResponse, body: Buffer, auth: Verified | undefined) => void;
  const seen: Array<{ headers: http.IncomingHttpHeaders; decoded?: Buffer; error?: string }> = [];
  let endpoint: string;
  const clients: S3Client[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let auth: Verified | undefined;
      let error: string | undefined;
      try {
        auth = verifyRequest(
          { method: req.method!, url: req.url!, headers: req.headersDistinct as Record<string, string[]> },
          { credentials: [KEYS], region: 'us-east-1' },
        );
      } catch (err) {
        error = (err as Error).message;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => undefined);
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let decoded: Buffer | undefined;
        try {
          if (auth) decoded = decodeAwsChunked(raw, auth, Number(req.headers['x-amz-decoded-content-length'])).body;
        } catch (err) {
          error = (err as Error).message;
        }
        seen.push({ headers: req.headers, decoded, error });
        answer(res, raw, auth);
      });
      req.on('close', () => {
        if (!req.complete) seen.push({ headers: req.headers, error: 'the client ended the request before its body' });
      });
    });
    endpoint = await listenLocal(server);
  });
  afterAll(() => closeLocal(server));
  beforeEach(() => {
    seen.length = 0;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  const target = (): Target => {
    const client = enableLightPath(
      createS3Client({
        endpoint,
        region: 'us-east-1',
        s3Compatible: true,
        credentials: KEYS,
        transport: { maxAttempts: 3, retryMode: 'standard' },
      }),
      'light',
    );
    clients.push(client);
    return { client, bucket: 'tenant:new', sse: sseParams({ type: 'SSE-S3' }), partSize: 1, queueSize: 1 };
  };
  const object = {
    key: 'photos/scan 1.jpg',
    contentType: 'image/jpeg',
    metadata: { 'bucketmove-integrity': 'signed-chunks' },
  };

  test('a valid signed request whose chunks decode to the body, with If-None-Match, SSE and metadata', async () => {
    answer = (res) => {
      res.writeHead(200, { 'x-amz-version-id': 'v1' });
      res.end();
    };
    const data = Buffer.alloc(600_000, 7);
    await expect(putSignedChunks(target(), object, Readable.from([data]), data.length)).resolves.toEqual({
      written: true,
      versionId: 'v1',
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].error).toBeUndefined();
    expect(seen[0].decoded!.equals(data)).toBe(true);
    expect(seen[0].headers).toMatchObject({
      'if-none-match': '*',
      'content-type': 'image/jpeg',
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-meta-bucketmove-integrity': 'signed-chunks',
      connection: 'close',
    });
  });

  test('a 412 is written: false, and nothing is retried (a 503 is thrown after one attempt)', async () => {
    answer = (res) => {
      res.writeHead(412, { 'content-type': 'application/xml' });
      res.end(
        '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions failed</Message></Error>',
      );
    };
    const data = Buffer.alloc(20_000, 1);
    await expect(putSignedChunks(target(), object, Readable.from([data]), data.length)).resolves.toEqual({
      written: false,
    });
    answer = (res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    };
    await expect(putSignedChunks(target(), object, Readable.from([data]), data.length)).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503, attempts: 1 },
    });
    expect(seen).toHaveLength(2);
  });

  test("a body that fails ends the request at once, with the body's own error", async () => {
    answer = (res) => {
      res.writeHead(200);
      res.end();
    };
    const body = new PassThrough();
    const put = putSignedChunks(target(), object, body, 3 * DEFAULT_CHUNK_SIZE);
    // More than a chunk: the request is under way when the body fails.
    body.write(Buffer.alloc(DEFAULT_CHUNK_SIZE + 50_000, 2));
    setTimeout(() => body.destroy(Object.assign(new Error('the tag does not verify'), { name: 'CodecError' })), 50);
    const started = Date.now();
    await expect(put).rejects.toMatchObject({ name: 'CodecError', message: 'the tag does not verify' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([expect.objectContaining({ error: 'the client ended the request before its body' })]);
  });
});
