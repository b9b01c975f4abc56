/**
 * The read-fallback store on the real RGW: fallback on 404 NoSuchKey only (403, 5xx, timeouts, dropped connections,
 * a missing bucket are errors and legacy is never asked), writes to the new bucket only, deletes on both sides in
 * order, the four modes, copy-on-miss (If-None-Match, provenance, the delete race), counters and the fallback-hit
 * log line, and corrupt legacy objects (an error, never bytes).
 */
import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'stream';
import { ConfigError } from '../../workspaces/errors';
import { createCodec } from '../../migrator/src/codec';
import { generateFernetKey } from '../../migrator/src/codec/fernet';
import { createLogger } from '../../migrator/src/log';
import { TOMBSTONE } from '../../workspaces/object-markers';
import { isTombstone, PROVENANCE, readProvenance } from '../../migrator/src/objects/provenance';
import {
  createStoreFromEnv,
  storeConfigFromEnv,
  StoreError,
  type PhotoStore,
  type StoreMode,
} from '../../migrator/src/store';
import { countFallbackHitsInFile, FALLBACK_HIT_EVENT, HEARTBEAT_EVENT } from '../../migrator/src/store/fallback-events';
import { collect, collectFailure } from '../helpers/streams';
import { tmpDirPerFile } from '../helpers/tmp';
import { REPO, storeEnv } from './helpers/photo-service';
import { rigState, s3As, uniqueKey } from './helpers/rig';
import { startS3Proxy, type ProxiedRequest, type S3Proxy } from './helpers/s3-proxy';
import { httpStatusOf } from '../../migrator/src/aws/errors';

const state = rigState();
const tmpDir = tmpDirPerFile('bm-store-');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fernetKeys = [generateFernetKey()];
const codec = createCodec(
  { type: 'fernet', keys: { env: 'LEGACY_FERNET_KEYS' }, storage: 'base64url-text', maxObjectBytes: 256 * 1024 * 1024 },
  fernetKeys,
  REPO,
);

const legacyApp = s3As('legacyApp');
const primaryApp = s3As('primaryApp');
afterAll(() => [legacyApp, primaryApp].forEach((c) => c.destroy()));

const photo = (n = 2048) => {
  const b = randomBytes(n);
  b.set([0xff, 0xd8, 0xff, 0xe0], 0);
  return b;
};

/** Writes a photo to the legacy bucket as the legacy app did: encrypted, with its content type and metadata. */
async function putLegacy(key: string, plain: Buffer, stored = codec.encrypt(plain, { key })): Promise<void> {
  await legacyApp.send(
    new PutObjectCommand({
      Bucket: state.buckets.legacy,
      Key: key,
      Body: stored,
      ContentType: 'image/jpeg',
      Metadata: { 'uploaded-by': 'user-7' },
    }),
  );
}

async function putNew(key: string, plain: Buffer): Promise<void> {
  await primaryApp.send(
    new PutObjectCommand({ Bucket: state.buckets.primary, Key: key, Body: plain, ContentType: 'image/png' }),
  );
}

async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (httpStatusOf(err) === 404) return false;
    throw err;
  }
}

async function bytesOf(p: { body: Readable } | undefined): Promise<Buffer> {
  if (!p) throw new Error('no photo');
  const { data, ended } = await collect(p.body);
  expect(ended).toBe(true);
  return data;
}

const stores: PhotoStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

/** A store from the environment an app would have, logging to a file of its own. */
async function makeStore(
  mode: StoreMode,
  o: { endpoint?: string; extra?: NodeJS.ProcessEnv; bufferBytes?: number } = {},
) {
  const logFile = path.join(tmpDir(), 'store.log');
  const store = await createStoreFromEnv(storeEnv({ mode, fernetKeys, endpoint: o.endpoint, extra: o.extra }), {
    logger: createLogger({ name: 'photo-store', destination: logFile }),
    fallbackBufferBytes: o.bufferBytes,
  });
  stores.push(store);
  // The lines a read or a write logged: the heartbeat (a line a minute, tested in test/store/heartbeat.test.ts) left
  // out.
  const lines = () =>
    fs.existsSync(logFile)
      ? fs
          .readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l && !l.includes(`"${HEARTBEAT_EVENT}"`))
      : [];
  return { store, logFile, lines };
}

const legacyRequests = (p: S3Proxy) => p.seen.filter((r) => r.bucket === state.buckets.legacy);

describe('dual-read', () => {
  test('a photo only in legacy is decrypted and served, with one fallback-hit line and counters', async () => {
    const { store, logFile, lines } = await makeStore('dual-read');
    const key = uniqueKey('store/fallback');
    const plain = photo(5000);
    await putLegacy(key, plain);
    const got = await store.get(key);
    expect(got?.source).toBe('legacy');
    expect(got?.contentType).toBe('image/jpeg');
    expect(got?.contentLength).toBe(plain.length);
    expect(got?.metadata).toEqual({ 'uploaded-by': 'user-7' });
    expect(sha256(await bytesOf(got))).toBe(sha256(plain));

    const hits = lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === FALLBACK_HIT_EVENT);
    expect(hits).toEqual([
      expect.objectContaining({ event: 'store.fallback_hit', key, op: 'get', mode: 'dual-read', level: 'info' }),
    ]);
    expect(typeof hits[0].time).toBe('string');
    const counted = await countFallbackHitsInFile(logFile, { since: new Date(Date.now() - 60_000) });
    expect(counted).toMatchObject({ hits: 1, distinctKeys: 1, sampleKeys: [key], untimed: 0 });
    expect(await countFallbackHitsInFile(logFile, { since: new Date(Date.now() + 60_000) })).toMatchObject({ hits: 0 });

    expect(store.counts()).toMatchObject({
      reads: { new: 0, legacy: 1 },
      fallbackHits: 1,
      fallbackMisses: 0,
      errors: { new: 0, legacy: 0 },
    });
    // A HEAD falls back too (and is a hit of its own); Fernet cannot know the plaintext size without decrypting.
    const head = await store.head(key);
    expect(head).toMatchObject({ source: 'legacy', contentType: 'image/jpeg' });
    expect(head?.contentLength).toBeUndefined();
    expect(await store.exists(key)).toBe(true);
    expect(store.counts().fallbackHits).toBe(3);
    expect(lines().filter((l) => l.includes(FALLBACK_HIT_EVENT))).toHaveLength(3);
  });

  test('a photo in the new bucket is served from it, never from legacy, and logs nothing', async () => {
    const { store, lines } = await makeStore('dual-read');
    const key = uniqueKey('store/direct');
    const newer = photo(3000);
    await putLegacy(key, photo(1000));
    await putNew(key, newer);
    const got = await store.get(key);
    expect(got?.source).toBe('new');
    expect(got?.contentType).toBe('image/png');
    expect(got?.contentLength).toBe(newer.length);
    expect(sha256(await bytesOf(got))).toBe(sha256(newer));
    expect(store.counts()).toMatchObject({ reads: { new: 1, legacy: 0 }, fallbackHits: 0 });
    expect(lines()).toEqual([]);
  });

  test('a photo in neither bucket is undefined, counted as a fallback miss, not logged as a hit', async () => {
    const { store, lines } = await makeStore('dual-read');
    const key = uniqueKey('store/nowhere');
    expect(await store.get(key)).toBeUndefined();
    expect(await store.head(key)).toBeUndefined();
    expect(await store.exists(key)).toBe(false);
    expect(store.counts()).toMatchObject({
      fallbackHits: 0,
      fallbackMisses: 3,
      notFound: 3,
      reads: { new: 0, legacy: 0 },
    });
    expect(lines()).toEqual([]);
  });

  describe('the new side failing is an error, never a reason to serve legacy', () => {
    let proxy: S3Proxy;
    beforeAll(async () => {
      proxy = await startS3Proxy(state.endpoint);
    });
    afterAll(() => proxy.close());
    beforeEach(() => {
      proxy.seen.length = 0;
      proxy.setRule(undefined);
    });

    const onNewGet = (action: Parameters<S3Proxy['setRule']>[0]) => (r: ProxiedRequest) =>
      r.bucket === state.buckets.primary && r.key && (r.method === 'GET' || r.method === 'HEAD')
        ? action?.(r)
        : undefined;

    // Four values per row: jest takes a test function with more parameters than the row has for a done-callback test.
    const cases: Array<[string, Parameters<S3Proxy['setRule']>[0], string, NodeJS.ProcessEnv]> = [
      ['403 AccessDenied', () => ({ kind: 'respond', status: 403, code: 'AccessDenied' }), 'denied', {}],
      ['500 InternalError', () => ({ kind: 'respond', status: 500, code: 'InternalError' }), 'unavailable', {}],
      [
        '503 SlowDown (after the retries)',
        () => ({ kind: 'respond', status: 503, code: 'SlowDown' }),
        'unavailable',
        { PHOTO_STORE_MAX_ATTEMPTS: '2' },
      ],
      [
        'a timeout',
        () => ({ kind: 'delay', ms: 3000 }),
        'unavailable',
        { PHOTO_STORE_TIMEOUT_MS: '300', PHOTO_STORE_MAX_ATTEMPTS: '1' },
      ],
      ['a dropped connection', () => ({ kind: 'drop' }), 'unavailable', { PHOTO_STORE_MAX_ATTEMPTS: '1' }],
    ];
    test.each(cases)('%s on the new bucket', async (_name, rule, kind, extra) => {
      const { store, lines } = await makeStore('dual-read', {
        endpoint: proxy.url,
        extra: { PHOTO_STORE_MAX_ATTEMPTS: '1', ...extra },
      });
      const key = uniqueKey('store/new-fails');
      await putLegacy(key, photo());
      proxy.setRule(onNewGet(rule));
      for (const op of [() => store.get(key), () => store.head(key)]) {
        const err = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StoreError);
        expect(err).toMatchObject({ kind, side: 'new' });
        expect((err as Error).message).not.toMatch(/\n/);
      }
      expect(legacyRequests(proxy)).toEqual([]);
      expect(store.counts()).toMatchObject({
        fallbackHits: 0,
        errors: { new: 2, legacy: 0 },
        reads: { new: 0, legacy: 0 },
      });
      expect(lines()).toEqual([]);
      if (extra.PHOTO_STORE_MAX_ATTEMPTS === '2') {
        expect(proxy.seen.filter((r) => r.bucket === state.buckets.primary && r.method === 'GET')).toHaveLength(2); // the SDK retried
      }
    });

    test('wrong keys for the new side: RGW itself answers 403, and legacy is not asked', async () => {
      const { store } = await makeStore('dual-read', {
        endpoint: proxy.url,
        extra: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' },
      });
      const key = uniqueKey('store/wrong-keys');
      await putLegacy(key, photo());
      await expect(store.get(key)).rejects.toMatchObject({ kind: 'denied', side: 'new', httpStatus: 403 });
      expect(legacyRequests(proxy)).toEqual([]);
    });

    test('a missing new bucket (NoSuchBucket) is an error, not a fallback', async () => {
      const { store } = await makeStore('dual-read', {
        endpoint: proxy.url,
        extra: { PHOTO_STORE_BUCKET: 'no-such-bucket-here' },
      });
      const key = uniqueKey('store/no-bucket');
      await putLegacy(key, photo());
      await expect(store.get(key)).rejects.toMatchObject({ kind: 'no-bucket', side: 'new', code: 'NoSuchBucket' });
      expect(legacyRequests(proxy)).toEqual([]);
      await expect(store.preflight()).rejects.toMatchObject({ side: 'new' });
    });

    test('a failing legacy side after a 404 on new is an error too (503 -> unavailable)', async () => {
      const { store } = await makeStore('dual-read', { endpoint: proxy.url, extra: { PHOTO_STORE_MAX_ATTEMPTS: '1' } });
      const key = uniqueKey('store/legacy-fails');
      await putLegacy(key, photo());
      proxy.setRule((r) =>
        r.bucket === state.buckets.legacy && r.method === 'GET'
          ? { kind: 'respond', status: 503, code: 'ServiceUnavailable' }
          : undefined,
      );
      await expect(store.get(key)).rejects.toMatchObject({ kind: 'unavailable', side: 'legacy' });
      expect(store.counts()).toMatchObject({ errors: { new: 0, legacy: 1 } });
    });
  });

  test('put writes the new bucket only, with SSE-S3, the content type, and no forged provenance', async () => {
    const proxy = await startS3Proxy(state.endpoint);
    const { store } = await makeStore('dual-read', { endpoint: proxy.url });
    const key = uniqueKey('store/put');
    const plain = photo(4096);
    const out = await store.put(key, plain, {
      contentType: 'image/webp',
      metadata: { 'chat-id': '42', [PROVENANCE.sourceEtag]: 'forged' },
    });
    expect(out.size).toBe(plain.length);
    expect(out.etag).toMatch(/^"[0-9a-f]{32}"$/);
    await proxy.close();
    // RGW 16 accepts SSE-S3 without applying or echoing it (migrator/rig/README.md): check what was asked.
    const sent = proxy.seen.filter((r) => r.method === 'PUT');
    expect(sent.map((r) => [r.bucket, r.key, r.headers['x-amz-server-side-encryption']])).toEqual([
      [state.buckets.primary, key, 'AES256'],
    ]);
    const head = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(head.ContentType).toBe('image/webp');
    expect(head.Metadata).toEqual({ 'chat-id': '42' });
    expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(false);
    const got = await primaryApp.send(new GetObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(plain));
    expect(store.counts().writes).toBe(1);
  });

  test('put with SSE-KMS asks S3 for the configured key', async () => {
    const kmsKey = state.kms?.keyId;
    expect(kmsKey).toBeDefined();
    const { store } = await makeStore('dual-read', {
      extra: { PHOTO_STORE_ENCRYPTION: 'SSE-KMS', PHOTO_STORE_KMS_KEY_ARN: kmsKey },
    });
    const key = uniqueKey('store/put-kms');
    await store.put(key, photo(), { contentType: 'image/jpeg' });
    const head = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(kmsKey);
  });

  describe('delete', () => {
    let proxy: S3Proxy;
    beforeAll(async () => {
      proxy = await startS3Proxy(state.endpoint);
    });
    afterAll(() => proxy.close());

    test('removes legacy first, then leaves a tombstone in the new bucket: the photo cannot come back from either', async () => {
      const { store } = await makeStore('dual-read', { endpoint: proxy.url });
      const key = uniqueKey('store/delete');
      await putLegacy(key, photo());
      await putNew(key, photo());
      proxy.seen.length = 0;
      await store.delete(key);
      expect(
        proxy.seen.filter((r) => r.method === 'DELETE' || r.method === 'PUT').map((r) => [r.method, r.bucket, r.key]),
      ).toEqual([
        ['DELETE', state.buckets.legacy, key],
        ['PUT', state.buckets.primary, key],
      ]);
      expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(false);
      const tombstone = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
      expect(tombstone.ContentLength).toBe(0);
      expect(isTombstone(tombstone.Metadata)).toBe(true);
      const tags = await primaryApp.send(new GetObjectTaggingCommand({ Bucket: state.buckets.primary, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: TOMBSTONE.tagKey, Value: TOMBSTONE.tagValue }]);
      const before = store.counts();
      expect(await store.get(key)).toBeUndefined();
      expect(await store.head(key)).toBeUndefined();
      expect(store.counts().fallbackHits).toBe(before.fallbackHits); // a tombstone is never a reason to fall back
      // An in-flight copy (If-None-Match) is refused by the tombstone.
      const copy = await primaryApp
        .send(new PutObjectCommand({ Bucket: state.buckets.primary, Key: key, Body: 'late copy', IfNoneMatch: '*' }))
        .then(
          () => 200,
          (err) => httpStatusOf(err),
        );
      expect(copy).toBe(412);
      await expect(store.delete(key)).resolves.toBeUndefined(); // deleting again is fine
      expect(store.counts().deletes).toBe(2);
    });

    test('new-only leaves a tombstone (dual-read instances may still run), or deletes plainly with PHOTO_STORE_TOMBSTONES=false', async () => {
      const key = uniqueKey('store/delete-new-only');
      await putLegacy(key, photo());
      await putNew(key, photo());
      await (await makeStore('new-only')).store.delete(key);
      expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(true); // new-only never touches legacy
      expect(
        isTombstone(
          (await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }))).Metadata,
        ),
      ).toBe(true);
      // A dual-read instance of the same fleet reads the tombstone as "deleted" and does not fall back to legacy.
      const dual = (await makeStore('dual-read')).store;
      expect(await dual.get(key)).toBeUndefined();
      expect(dual.counts().fallbackHits).toBe(0);
      // Once the legacy bucket is gone (after the teardown), plain deletes.
      await putNew(key, photo());
      await (await makeStore('new-only', { extra: { PHOTO_STORE_TOMBSTONES: 'false' } })).store.delete(key);
      expect(await exists(primaryApp, state.buckets.primary, key)).toBe(false);
    });

    test('when the legacy delete fails, nothing is deleted and the error says so', async () => {
      const { store } = await makeStore('dual-read', { endpoint: proxy.url, extra: { PHOTO_STORE_MAX_ATTEMPTS: '1' } });
      const key = uniqueKey('store/delete-fails');
      await putLegacy(key, photo());
      await putNew(key, photo());
      proxy.setRule((r) =>
        r.method === 'DELETE' && r.bucket === state.buckets.legacy
          ? { kind: 'respond', status: 503, code: 'ServiceUnavailable' }
          : undefined,
      );
      try {
        await expect(store.delete(key)).rejects.toMatchObject({ kind: 'unavailable', side: 'legacy' });
      } finally {
        proxy.setRule(undefined);
      }
      expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(true);
      expect(await exists(primaryApp, state.buckets.primary, key)).toBe(true);
    });
  });

  test('a corrupt or wrong-key legacy object is an error, never bytes', async () => {
    const { store } = await makeStore('dual-read', { extra: { PHOTO_STORE_COPY_ON_MISS: 'true' } });
    const tampered = uniqueKey('store/corrupt');
    const token = Buffer.from(codec.encrypt(photo(), { key: tampered }));
    const at = Math.floor(token.length / 2);
    token[at] = token[at] === 0x41 ? 0x42 : 0x41; // another base64url character: the HMAC no longer matches
    await putLegacy(tampered, Buffer.alloc(0), token);
    const otherKey = uniqueKey('store/wrong-key');
    const other = createCodec(
      { type: 'fernet', keys: { env: 'X' }, storage: 'base64url-text', maxObjectBytes: 1 << 20 },
      [generateFernetKey()],
      REPO,
    );
    await putLegacy(otherKey, Buffer.alloc(0), other.encrypt(photo(), { key: otherKey }));
    for (const key of [tampered, otherKey]) {
      await expect(store.get(key)).rejects.toMatchObject({ kind: 'corrupt', side: 'legacy', code: 'Codec.auth' });
    }
    await store.drain();
    expect(store.counts()).toMatchObject({ errors: { legacy: 2 }, reads: { legacy: 0 }, copies: { written: 0 } });
    expect(await exists(primaryApp, state.buckets.primary, tampered)).toBe(false); // nothing copied
  });

  test('a zero-byte folder marker is served (and copied) as the empty object it is, as the migrator copies it', async () => {
    const { store } = await makeStore('dual-read', { extra: { PHOTO_STORE_COPY_ON_MISS: 'true' } });
    const key = `${uniqueKey('store/marker')}/folder/`;
    await legacyApp.send(
      new PutObjectCommand({
        Bucket: state.buckets.legacy,
        Key: key,
        Body: Buffer.alloc(0),
        ContentType: 'application/x-directory',
      }),
    );
    const got = await store.get(key);
    expect(got).toMatchObject({ source: 'legacy', contentLength: 0, contentType: 'application/x-directory' });
    expect((await bytesOf(got)).length).toBe(0);
    await store.drain();
    const head = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(head.ContentLength).toBe(0);
    expect(readProvenance(head.Metadata)).toMatchObject({ plaintextSize: 0, plaintextSha256: sha256(Buffer.alloc(0)) });
    // Any other zero-byte object is not a valid encrypted photo.
    const empty = uniqueKey('store/empty');
    await putLegacy(empty, Buffer.alloc(0), Buffer.alloc(0));
    await expect(store.get(empty)).rejects.toMatchObject({ kind: 'corrupt', side: 'legacy' });
  });

  test('above the buffer size a fallback streams, and a bad object fails the stream before its end', async () => {
    const { store } = await makeStore('dual-read', { bufferBytes: 1024 });
    const good = uniqueKey('store/streamed');
    const plain = photo(64 * 1024);
    await putLegacy(good, plain);
    expect(sha256(await bytesOf(await store.get(good)))).toBe(sha256(plain));
    const bad = uniqueKey('store/streamed-bad');
    const token = Buffer.from(codec.encrypt(photo(64 * 1024), { key: bad }));
    token[200] = token[200] === 0x41 ? 0x42 : 0x41;
    await putLegacy(bad, Buffer.alloc(0), token);
    const got = await store.get(bad);
    const failure = await collectFailure(got!.body);
    // Fernet streams: plaintext flows before the HMAC at the end is checked, but the stream never ends cleanly.
    expect(failure.ended).toBe(false);
    expect(failure.error).toMatchObject({ kind: 'auth' });
  });
});

describe('copy-on-miss', () => {
  let proxy: S3Proxy;
  beforeAll(async () => {
    proxy = await startS3Proxy(state.endpoint);
  });
  afterAll(() => proxy.close());
  beforeEach(() => proxy.setRule(undefined));

  test('copies what it fell back to with If-None-Match and the provenance the migrator writes', async () => {
    const { store } = await makeStore('dual-read', {
      endpoint: proxy.url,
      extra: { PHOTO_STORE_COPY_ON_MISS: 'true' },
    });
    const key = uniqueKey('store/copy');
    const plain = photo(7000);
    await putLegacy(key, plain);
    proxy.seen.length = 0;
    expect(sha256(await bytesOf(await store.get(key)))).toBe(sha256(plain));
    await store.drain();
    const put = proxy.seen.find((r) => r.method === 'PUT' && r.bucket === state.buckets.primary && r.key === key);
    expect(put?.headers['if-none-match']).toBe('*');
    expect(put?.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(plain).digest('base64'));
    const legacyHead = await legacyApp.send(new HeadObjectCommand({ Bucket: state.buckets.legacy, Key: key }));
    expect(put?.headers['x-amz-server-side-encryption']).toBe('AES256');
    const head = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(head.ContentType).toBe('image/jpeg');
    expect(head.Metadata?.['uploaded-by']).toBe('user-7');
    expect(readProvenance(head.Metadata)).toMatchObject({
      sourceEtag: legacyHead.ETag!.replace(/"/g, ''),
      plaintextSha256: sha256(plain),
      plaintextSize: plain.length,
    });
    expect(store.counts().copies).toMatchObject({ written: 1, existed: 0, undone: 0, failed: 0 });
    const again = await store.get(key);
    expect(again?.source).toBe('new');
    expect(sha256(await bytesOf(again))).toBe(sha256(plain));
    expect(store.counts().fallbackHits).toBe(1);
  });

  test("never overwrites the app's write: a 412 leaves it as it is", async () => {
    const { store } = await makeStore('dual-read', {
      endpoint: proxy.url,
      extra: { PHOTO_STORE_COPY_ON_MISS: 'true' },
    });
    const key = uniqueKey('store/copy-412');
    const appBytes = photo(1500);
    await putLegacy(key, photo(900));
    await putNew(key, appBytes);
    // The app's write lands between the read's 404 on new and the copy: replay that by answering the GET with 404.
    proxy.setRule((r) =>
      r.bucket === state.buckets.primary && r.method === 'GET' && r.key === key
        ? { kind: 'respond', status: 404, code: 'NoSuchKey' }
        : undefined,
    );
    expect((await store.get(key))?.source).toBe('legacy');
    await store.drain();
    proxy.setRule(undefined);
    expect(store.counts().copies).toMatchObject({ written: 0, existed: 1 });
    const got = await primaryApp.send(new GetObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(appBytes));
    expect(got.Metadata?.[PROVENANCE.sourceEtag]).toBeUndefined();
  });

  test('a delete that races the copy wins: its tombstone refuses the copy, and the photo stays deleted throughout', async () => {
    const { store } = await makeStore('dual-read', {
      endpoint: proxy.url,
      extra: { PHOTO_STORE_COPY_ON_MISS: 'true' },
    });
    const deleter = (await makeStore('dual-read')).store; // another instance of the app
    const key = uniqueKey('store/copy-race');
    await putLegacy(key, photo());
    // Hold the copy's PUT; while it is held, the app deletes the photo (legacy, then new); then let the PUT land.
    let reached!: () => void;
    const putReached = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    proxy.setRule((r) => {
      if (r.method === 'PUT' && r.bucket === state.buckets.primary && r.key === key) {
        reached();
        return { kind: 'hold', until: released };
      }
      return undefined;
    });
    expect((await store.get(key))?.source).toBe('legacy');
    await putReached;
    await deleter.delete(key);
    release();
    await store.drain();
    expect(store.counts().copies).toMatchObject({ written: 0, existed: 1, undone: 0 });
    expect(
      isTombstone((await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }))).Metadata),
    ).toBe(true);
    expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
  });

  test('a copy that fails is logged and counted; the read it came from was served all the same', async () => {
    const { store, lines } = await makeStore('dual-read', {
      endpoint: proxy.url,
      extra: { PHOTO_STORE_COPY_ON_MISS: 'true', PHOTO_STORE_MAX_ATTEMPTS: '1' },
    });
    const key = uniqueKey('store/copy-fails');
    const plain = photo();
    await putLegacy(key, plain);
    proxy.setRule((r) =>
      r.method === 'PUT' && r.bucket === state.buckets.primary && r.key === key
        ? { kind: 'respond', status: 500, code: 'InternalError' }
        : undefined,
    );
    expect(sha256(await bytesOf(await store.get(key)))).toBe(sha256(plain));
    await store.drain();
    expect(store.counts().copies).toMatchObject({ written: 0, failed: 1 });
    const failed = lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'store.copy_failed');
    expect(failed).toEqual([
      expect.objectContaining({ key, kind: 'unavailable', code: 'InternalError', status: 500, level: 'warn' }),
    ]);
    expect(await exists(primaryApp, state.buckets.primary, key)).toBe(false);
  });

  test('is refused outside dual-read', () => {
    expect(() =>
      storeConfigFromEnv(storeEnv({ mode: 'new-only', extra: { PHOTO_STORE_COPY_ON_MISS: 'true' } })),
    ).toThrow(/only in dual-read/);
  });
});

describe('modes', () => {
  test('legacy-only: reads, writes (encrypted as the legacy app did) and deletes legacy; no new-side settings needed', async () => {
    const env = storeEnv({ mode: 'legacy-only', fernetKeys });
    expect(env.PHOTO_STORE_BUCKET).toBeUndefined();
    expect(env.AWS_ACCESS_KEY_ID).toBeUndefined();
    const { store, lines } = await makeStore('legacy-only');
    const key = uniqueKey('store/legacy-only');
    const plain = photo(3333);
    await store.put(key, plain, { contentType: 'image/jpeg' });
    const raw = await legacyApp.send(new GetObjectCommand({ Bucket: state.buckets.legacy, Key: key }));
    const stored = Buffer.from(await raw.Body!.transformToByteArray());
    expect(stored.subarray(0, 4).toString()).toBe('gAAA'); // a Fernet token, as base64url text
    expect(sha256((await collect(codec.decrypt(Readable.from([stored]), { key }))).data)).toBe(sha256(plain));
    expect(await exists(primaryApp, state.buckets.primary, key)).toBe(false);
    const got = await store.get(key);
    expect(got?.source).toBe('legacy');
    expect(sha256(await bytesOf(got))).toBe(sha256(plain));
    expect(store.counts()).toMatchObject({ reads: { legacy: 1 }, fallbackHits: 0 }); // not a fallback: legacy is the store
    expect(lines()).toEqual([]);
    await store.delete(key);
    expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(false);
  });

  test('read-both-write-legacy: reads new then legacy; writes legacy (encrypted), and new too where new holds the key', async () => {
    const { store, lines } = await makeStore('read-both-write-legacy');
    const seeded = uniqueKey('store/rbwl-seeded');
    const plain = photo(1500);
    await putLegacy(seeded, plain);
    const got = await store.get(seeded);
    expect([got?.source, sha256(await bytesOf(got))]).toEqual(['legacy', sha256(plain)]);
    expect(lines().map((l) => JSON.parse(l) as { event: string; mode: string })).toEqual([
      expect.objectContaining({ event: FALLBACK_HIT_EVENT, mode: 'read-both-write-legacy' }),
    ]);

    // A new photo: legacy only, encrypted as the legacy app did, so legacy-only instances still running serve it.
    const fresh = uniqueKey('store/rbwl-new');
    const v1 = photo(1200);
    await store.put(fresh, v1, { contentType: 'image/jpeg' });
    const stored = Buffer.from(
      await (
        await legacyApp.send(new GetObjectCommand({ Bucket: state.buckets.legacy, Key: fresh }))
      ).Body!.transformToByteArray(),
    );
    expect(sha256((await collect(codec.decrypt(Readable.from([stored]), { key: fresh }))).data)).toBe(sha256(v1));
    expect(await exists(primaryApp, state.buckets.primary, fresh)).toBe(false);

    // A photo a dual-read instance wrote to new: a new version goes to both, or the copy in new would hide it.
    const dual = uniqueKey('store/rbwl-dual');
    await putNew(dual, photo(900));
    const v2 = photo(1100);
    await store.put(dual, v2, { contentType: 'image/jpeg' });
    const inNew = await primaryApp.send(new GetObjectCommand({ Bucket: state.buckets.primary, Key: dual }));
    expect(sha256(Buffer.from(await inNew.Body!.transformToByteArray()))).toBe(sha256(v2));
    expect(await exists(legacyApp, state.buckets.legacy, dual)).toBe(true);
    expect(sha256(await bytesOf(await store.get(dual)))).toBe(sha256(v2));

    // Deletes: legacy, and a tombstone over the photo in new; a key new does not hold gets no tombstone.
    await store.delete(dual);
    await store.delete(fresh);
    expect([
      await exists(legacyApp, state.buckets.legacy, dual),
      await exists(legacyApp, state.buckets.legacy, fresh),
    ]).toEqual([false, false]);
    expect(
      isTombstone(
        (await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: dual }))).Metadata,
      ),
    ).toBe(true);
    expect(await exists(primaryApp, state.buckets.primary, fresh)).toBe(false);
    expect([await store.get(dual), await store.get(fresh)]).toEqual([undefined, undefined]);
  });

  test('new-only: a photo only in legacy is not found, and legacy is never asked', async () => {
    const proxy = await startS3Proxy(state.endpoint);
    try {
      const { store } = await makeStore('new-only', { endpoint: proxy.url });
      const key = uniqueKey('store/new-only');
      await putLegacy(key, photo());
      expect(await store.get(key)).toBeUndefined();
      expect(await store.head(key)).toBeUndefined();
      const plain = photo(100);
      await store.put(key, plain, { contentType: 'image/jpeg' });
      expect(sha256(await bytesOf(await store.get(key)))).toBe(sha256(plain));
      await store.delete(key);
      expect(await exists(legacyApp, state.buckets.legacy, key)).toBe(true); // legacy is not the store's any more
      expect(legacyRequests(proxy)).toEqual([]);
      expect(store.counts()).toMatchObject({ fallbackHits: 0, fallbackMisses: 0, notFound: 2 });
    } finally {
      await proxy.close();
    }
  });

  test('new-only never loads the codec or the legacy side, and needs no legacy settings or codec keys', () => {
    const script = `
      const { createStoreFromEnv } = require('./migrator/src/store');
      (async () => {
        const store = await createStoreFromEnv(process.env);
        const key = 'store/new-only-child/' + process.pid;
        await store.put(key, Buffer.from('photo'), { contentType: 'image/jpeg' });
        const got = await store.get(key);
        await store.delete(key);
        await store.close();
        const loaded = Object.keys(require.cache).map((f) => require('path').relative(process.cwd(), f)).filter((f) => !f.startsWith('node_modules'));
        process.stdout.write(JSON.stringify({ source: got && got.source, loaded }));
      })().catch((e) => { process.stderr.write(String(e && e.message)); process.exit(1); });`;
    const run = (mode: 'new-only' | 'dual-read') => {
      const env = storeEnv({ mode, fernetKeys });
      const res = spawnSync(process.execPath, ['-r', 'ts-node/register', '-e', script], {
        cwd: REPO,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      });
      // stderr is the store's default log: its heartbeats only, the last one written by close().
      const logged = res.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event?: string; final?: boolean; mode?: string });
      expect(logged.map((r) => r.event).every((e) => e === HEARTBEAT_EVENT)).toBe(true);
      expect(logged[logged.length - 1]).toMatchObject({ final: true, mode });
      expect(res.status).toBe(0);
      return JSON.parse(res.stdout) as { source: string; loaded: string[] };
    };
    const newOnly = run('new-only');
    expect(newOnly.source).toBe('new');
    expect(newOnly.loaded).toContain(path.join('migrator', 'src', 'store', 'store.ts'));
    expect(
      newOnly.loaded.filter(
        (f) =>
          f.includes(path.join('migrator', 'src', 'codec')) ||
          f.endsWith('legacy-side.ts') ||
          f.endsWith('copy-on-miss.ts'),
      ),
    ).toEqual([]);
    // The same probe in dual-read does load them: the probe can see a loaded codec.
    const dual = run('dual-read');
    expect(dual.loaded).toEqual(
      expect.arrayContaining([
        path.join('migrator', 'src', 'codec', 'fernet.ts'),
        path.join('migrator', 'src', 'store', 'legacy-side.ts'),
      ]),
    );
  });
});

describe('bad configuration and keys', () => {
  const base = () => storeEnv({ mode: 'dual-read', fernetKeys });

  test.each([
    [
      'PHOTO_STORE_MODE=unset',
      { PHOTO_STORE_MODE: undefined },
      /^PHOTO_STORE_MODE is not set: set it to one of legacy-only, read-both-write-legacy, dual-read, new-only$/,
    ],
    [
      'PHOTO_STORE_MODE=both',
      { PHOTO_STORE_MODE: 'both' },
      /^PHOTO_STORE_MODE must be one of legacy-only, read-both-write-legacy, dual-read, new-only \(got "both"\)$/,
    ],
    ['PHOTO_STORE_BUCKET=', { PHOTO_STORE_BUCKET: '' }, /^PHOTO_STORE_BUCKET is not set/],
    [
      'PHOTO_STORE_LEGACY_BUCKET=unset',
      { PHOTO_STORE_LEGACY_BUCKET: undefined },
      /^PHOTO_STORE_LEGACY_BUCKET is not set/,
    ],
    ['AWS_REGION=moon-1', { AWS_REGION: 'moon-1' }, /^AWS_REGION must be an AWS region/],
    [
      'PHOTO_STORE_ENDPOINT=ftp://x',
      { PHOTO_STORE_ENDPOINT: 'ftp://x' },
      /^PHOTO_STORE_ENDPOINT must be an http\(s\) URL/,
    ],
    [
      'LEGACY_AWS_SECRET_ACCESS_KEY=unset',
      { LEGACY_AWS_SECRET_ACCESS_KEY: undefined },
      /^missing LEGACY_AWS_SECRET_ACCESS_KEY: set the legacy bucket's access key/,
    ],
    [
      'AWS_ACCESS_KEY_ID=unset, AWS_SECRET_ACCESS_KEY=unset',
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
      /^missing AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    ],
    ['PHOTO_STORE_ENCRYPTION=SSE-KMS', { PHOTO_STORE_ENCRYPTION: 'SSE-KMS' }, /^PHOTO_STORE_KMS_KEY_ARN is not set/],
    ['PHOTO_STORE_CODEC={"type":"rot13"}', { PHOTO_STORE_CODEC: '{"type":"rot13"}' }, /^PHOTO_STORE_CODEC: /],
    ['PHOTO_STORE_TIMEOUT_MS=-1', { PHOTO_STORE_TIMEOUT_MS: '-1' }, /^PHOTO_STORE_TIMEOUT_MS must be a whole number/],
  ] as Array<[string, NodeJS.ProcessEnv, RegExp]>)('%s: one line naming the variable', (_name, patch, message) => {
    const env = { ...base(), ...patch };
    let err: unknown;
    try {
      storeConfigFromEnv(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toMatch(/\n/);
    for (const secret of [
      state.principals.primaryApp.secretAccessKey,
      state.principals.legacyApp.secretAccessKey,
      fernetKeys[0],
    ]) {
      expect((err as Error).message).not.toContain(secret);
    }
  });

  test('a missing codec key variable is refused when the store is built, without echoing anything', async () => {
    const env = { ...base(), LEGACY_FERNET_KEYS: undefined };
    await expect(createStoreFromEnv(env)).rejects.toThrow(
      /^codec\.keys: environment variable LEGACY_FERNET_KEYS is not set/,
    );
  });

  test('an invalid key is refused before any request', async () => {
    const { store } = await makeStore('dual-read');
    await expect(store.get('')).rejects.toMatchObject({ kind: 'invalid-key' });
    await expect(store.put('x'.repeat(1025), photo())).rejects.toMatchObject({ kind: 'invalid-key' });
    await expect(store.delete('a\u0000b')).rejects.toMatchObject({ kind: 'invalid-key' });
    expect(store.counts().errors).toEqual({ new: 0, legacy: 0 });
  });
});
