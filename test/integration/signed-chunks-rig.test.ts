/**
 * The one-pass single PUT in SigV4 signed chunks against the real RGW 16 (migrator/rig/README.md), which ignores
 * If-None-Match on CompleteMultipartUpload, so large objects go as single PUTs there:
 * - the probe finds that RGW checks signed chunks (an altered byte is refused, nothing stored) and leaves nothing;
 *   on the SDK request path it says 'unavailable' and large objects keep two passes;
 * - a large object (AES-GCM) is read once (one GET), sent as one PUT in signed chunks with If-None-Match, stored as
 *   the plaintext whose SHA-256 the outcome records, its provenance `signed-chunks`; /usr/bin/aws reads the same bytes;
 * - Fernet keeps two passes (its codec tells the plaintext's size only at the end);
 * - an AES-GCM object whose tag does not verify (GCM releases all plaintext before its tag) leaves nothing;
 * - a key the app wrote first, or while the PUT was sending its chunks, is kept (412 once the body is in), the
 *   legacy plaintext's hash recorded.
 */
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { Transform } from 'stream';
import os from 'os';
import path from 'path';
import { createS3Client } from '../../migrator/src/aws/clients';
import { enableLightPath } from '../../migrator/src/aws/light-s3';
import { AesGcmCodec } from '../../migrator/src/codec/aes-gcm';
import { FernetCodec } from '../../migrator/src/codec/fernet';
import type { Codec } from '../../migrator/src/codec/codec';
import { copyObject } from '../../migrator/src/migrate/copy-object';
import {
  largeObjectWrite,
  probeConditionalWrites,
  probeSignedChunks,
  PROBE_PREFIX,
} from '../../migrator/src/migrate/conditional-write-probe';
import { readProvenance } from '../../migrator/src/objects/provenance';
import type { Target } from '../../migrator/src/objects/write-new';
import { awsCliOnNew, fernetKey, getNew, putLegacy, putNewAsApp, sha256 } from './helpers/migration';
import { keysOf, probeKeys, rigState, uniqueKey } from './helpers/rig';
import { startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { MIB } from '../../workspaces/units';
import { pipeInto } from '../../migrator/src/pipe-into';

const client = (who: 'legacyApp' | 'primaryApp', endpoint = rigState().endpoint, light = true) => {
  const c = createS3Client({ endpoint, region: rigState().region, s3Compatible: true, credentials: keysOf(who) });
  return light ? enableLightPath(c, 'light') : c;
};

const gcm = () =>
  new AesGcmCodec([randomBytes(32).toString('base64')], { aad: 'object-key', maxObjectBytes: 64 * MIB });

const target = (c = client('primaryApp')): Target => ({
  client: c,
  bucket: rigState().buckets.primary,
  sse: { ServerSideEncryption: 'AES256' },
  partSize: 5 * MIB,
  queueSize: 2,
});

test('RGW 16 checks signed chunks: the probe finds it, picks one pass for single PUTs, and leaves nothing', async () => {
  const before = await probeKeys();
  const probe = await probeConditionalWrites(target());
  expect(probe).toMatchObject({
    put: 'enforced',
    completeMultipartUpload: 'ignored',
    signedChunks: 'verified',
    cleanedUp: true,
  });
  expect(largeObjectWrite(probe)).toMatchObject({ path: 'single-put', onePass: true });
  expect(largeObjectWrite(probe).why).toMatch(/checks SigV4 signed chunks/);
  expect(await probeKeys()).toEqual(before);
});

test('on the SDK request path the probe says unavailable, and large objects keep two passes', async () => {
  expect(await probeSignedChunks(target(client('primaryApp', rigState().endpoint, false)))).toBe('unavailable');
  const probe = await probeConditionalWrites(target(client('primaryApp', rigState().endpoint, false)));
  expect(probe.signedChunks).toBe('unavailable');
  expect(largeObjectWrite(probe)).toMatchObject({ path: 'single-put', onePass: false });
});

describe('the one-pass single PUT in signed chunks', () => {
  let proxy: S3Proxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  const onePass = largeObjectWrite({
    key: `${PROBE_PREFIX}forced`,
    put: 'enforced',
    completeMultipartUpload: 'ignored',
    signedChunks: 'verified',
    cleanedUp: true,
  });
  const copy = (key: string, codec: Codec) =>
    copyObject(
      { key },
      {
        source: { client: client('legacyApp', proxy!.url), bucket: rigState().buckets.legacy },
        target: target(client('primaryApp', proxy!.url)),
        codec,
        largeObjects: onePass,
      },
      new AbortController().signal,
    );

  test('one GET, one PUT in signed chunks with If-None-Match; the stored bytes are the plaintext hashed', async () => {
    const key = `${uniqueKey('signed-chunks')}/scan.jpg`;
    const plaintext = randomBytes(12 * MIB + 77);
    const codec = gcm();
    await putLegacy(key, codec.encrypt(plaintext, { key }), 'image/jpeg', { 'uploaded-by': 'legacy app' });
    proxy = await startS3Proxy(rigState().endpoint);
    const outcome = await copy(key, codec);
    expect(outcome).toMatchObject({
      state: 'copied',
      plaintextSha256: sha256(plaintext),
      plaintextSize: plaintext.length,
    });

    const seen = proxy.seen.filter((r) => r.key === key);
    expect(seen.filter((r) => r.method === 'GET')).toHaveLength(1);
    const puts = seen.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0].headers).toMatchObject({
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(plaintext.length),
      'if-none-match': '*',
    });

    const stored = (await getNew(key))!;
    expect(stored.body.equals(plaintext)).toBe(true);
    expect(readProvenance(stored.metadata)).toMatchObject({ integrity: 'signed-chunks' });
    expect(stored.metadata['bucketmove-plaintext-sha256']).toBeUndefined();
    expect(stored.metadata['uploaded-by']).toBe('legacy app');
    expect(stored.contentType).toBe('image/jpeg');
    // An independent client reads the same bytes (no aws-chunked framing kept).
    const file = path.join(os.tmpdir(), `signed-chunks-${process.pid}.bin`);
    const cli = await awsCliOnNew('get-object', key, file);
    expect(cli.code).toBe(0);
    expect(sha256(readFileSync(file))).toBe(sha256(plaintext));
  });

  test('an AES-GCM object whose tag does not verify leaves nothing in the new bucket', async () => {
    const key = `${uniqueKey('signed-chunks-bad-tag')}/scan.jpg`;
    const codec = gcm();
    const stored = codec.encrypt(randomBytes(6 * MIB), { key });
    stored[stored.length - 1] ^= 0x01;
    await putLegacy(key, stored);
    proxy = await startS3Proxy(rigState().endpoint);
    // The codec's own error, not the aborted request's: the run quarantines it as the codec's refusal.
    await expect(copy(key, codec)).rejects.toMatchObject({ name: 'CodecError', kind: 'auth' });
    expect(await getNew(key)).toBeUndefined();
  });

  test("a key the app wrote first is kept (412 at the body's end), the legacy plaintext's hash recorded", async () => {
    const key = `${uniqueKey('signed-chunks-app-first')}/scan.jpg`;
    const plaintext = randomBytes(6 * MIB);
    const codec = gcm();
    await putLegacy(key, codec.encrypt(plaintext, { key }));
    const appBytes = Buffer.from('the app wrote this photo first');
    await putNewAsApp(key, appBytes);
    proxy = await startS3Proxy(rigState().endpoint);
    expect(await copy(key, codec)).toMatchObject({
      state: 'kept-app-version',
      plaintextSha256: sha256(plaintext),
      plaintextSize: plaintext.length,
    });
    expect((await getNew(key))!.body.equals(appBytes)).toBe(true);
    // One GET, one PUT: refused at its end, nothing read twice.
    const seen = proxy.seen.filter((r) => r.key === key);
    expect(seen.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(seen.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  test("mid-body: the app writes the key while the PUT is sending its chunks: the app's bytes stay (412 at the end)", async () => {
    const key = `${uniqueKey('signed-chunks-mid-body')}/scan.jpg`;
    const plaintext = randomBytes(12 * MIB);
    const inner = gcm();
    await putLegacy(key, inner.encrypt(plaintext, { key }));
    const appBytes = Buffer.from('the app wrote this photo while the copy was streaming');
    let sentBeforeAppWrite = 0;
    // After 4 MiB of plaintext (16 chunks on their way), the app writes the key; then the rest flows.
    const codec: Codec = {
      name: inner.name,
      plaintextSize: (n) => inner.plaintextSize(n),
      memoryNeed: (n) => inner.memoryNeed(n),
      encrypt: (p, c) => inner.encrypt(p, c),
      decrypt(stored, ctx) {
        let seen = 0;
        let wrote = false;
        return pipeInto(
          inner.decrypt(stored, ctx),
          new Transform({
            transform(chunk: Buffer, _enc, done) {
              seen += chunk.length;
              if (wrote || seen < 4 * MIB) return done(null, chunk);
              wrote = true;
              sentBeforeAppWrite = seen;
              putNewAsApp(key, appBytes).then(() => done(null, chunk), done);
            },
          }),
        );
      },
    };
    proxy = await startS3Proxy(rigState().endpoint);
    expect(await copy(key, codec)).toMatchObject({ state: 'kept-app-version', plaintextSha256: sha256(plaintext) });
    expect(sentBeforeAppWrite).toBeGreaterThanOrEqual(4 * MIB);
    expect((await getNew(key))!.body.equals(appBytes)).toBe(true);
    // Through the proxy: the copy's one GET, its PUT, the HEAD that explains the 412 (the app wrote to the server
    // directly).
    const seen = proxy.seen.filter((r) => r.key === key);
    expect(seen.map((r) => r.method)).toEqual(['GET', 'PUT', 'HEAD']);
  });

  test('Fernet keeps two passes: its plaintext size is known only at the end (PKCS7 padding)', async () => {
    const key = `${uniqueKey('signed-chunks-fernet')}/scan.jpg`;
    const plaintext = randomBytes(6 * MIB + 5);
    const codec = new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 64 * MIB });
    await putLegacy(key, codec.encrypt(plaintext));
    proxy = await startS3Proxy(rigState().endpoint);
    expect(await copy(key, codec)).toMatchObject({ state: 'copied', plaintextSha256: sha256(plaintext) });
    const seen = proxy.seen.filter((r) => r.key === key);
    expect(seen.filter((r) => r.method === 'GET')).toHaveLength(2);
    const put = seen.find((r) => r.method === 'PUT')!;
    expect(put.headers['content-encoding']).toBeUndefined();
    const stored = (await getNew(key))!;
    expect(stored.body.equals(plaintext)).toBe(true);
    expect(readProvenance(stored.metadata)).toMatchObject({ integrity: 'sha256-in-metadata' });
  });
});
