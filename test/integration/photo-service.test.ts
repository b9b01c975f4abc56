/**
 * The reference photo service as it runs (a child process, wired from the environment) on the real RGW: its
 * endpoints, status codes and bodies, odd keys through URLs, the fallback-hit and heartbeat lines on stdout, errors
 * that name nothing internal, the start-up refusals, and SIGTERM through `npm run`.
 */
import { spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { Socket } from 'net';
import * as path from 'path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createCodec } from '../../migrator/src/codec';
import { generateFernetKey } from '../../migrator/src/codec/fernet';
import { countFallbackHitsInFile as auditLogFile } from '../../migrator/src/audit/fallback-log-file';
import { countFallbackHitsInFile, HEARTBEAT_EVENT } from '../../migrator/src/store/fallback-events';
import { tmpDirPerFile } from '../helpers/tmp';
import {
  cleanEnv,
  REPO,
  runPhotoServiceToExit,
  startPhotoService,
  storeEnv,
  type RunningService,
} from './helpers/photo-service';
import { rigState, s3As, uniqueKey } from './helpers/rig';
import { startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { isTombstone } from '../../migrator/src/objects/provenance';
import { httpStatusOf } from '../../migrator/src/aws/errors';

jest.setTimeout(60_000);

const state = rigState();
const tmpDir = tmpDirPerFile('bm-service-');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fernetKeys = [generateFernetKey()];
const codec = createCodec(
  { type: 'fernet', keys: { env: 'LEGACY_FERNET_KEYS' }, storage: 'base64url-text', maxObjectBytes: 1 << 28 },
  fernetKeys,
  REPO,
);
const legacyApp = s3As('legacyApp');
const primaryApp = s3As('primaryApp');
const MAX_BYTES = 256 * 1024;
const SECRETS = [
  state.principals.primaryApp.secretAccessKey,
  state.principals.legacyApp.secretAccessKey,
  fernetKeys[0],
];

/** The key in a URL path: every character that is not plain is percent-encoded (slashes too). */
const photoUrl = (base: string, key: string) => `${base}/photos/${encodeURIComponent(key)}`;
const photo = (n = 3000) => randomBytes(n);

let proxy: S3Proxy;
let svc: RunningService;
/** Every error body the tests saw, checked for leaks at the end. */
const bodies: string[] = [];

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Buffer; json: () => Record<string, unknown> }> {
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status >= 400) bodies.push(body.toString('utf8'));
  return {
    status: res.status,
    headers: res.headers,
    body,
    json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
  };
}

async function putLegacy(key: string, stored: Buffer): Promise<void> {
  await legacyApp.send(
    new PutObjectCommand({ Bucket: state.buckets.legacy, Key: key, Body: stored, ContentType: 'image/jpeg' }),
  );
}

async function existsIn(side: 'legacy' | 'primary', key: string): Promise<boolean> {
  try {
    await (side === 'legacy' ? legacyApp : primaryApp).send(
      new HeadObjectCommand({ Bucket: state.buckets[side], Key: key }),
    );
    return true;
  } catch (err) {
    if (httpStatusOf(err) === 404) return false;
    throw err;
  }
}

beforeAll(async () => {
  proxy = await startS3Proxy(state.endpoint);
  svc = await startPhotoService(
    storeEnv({
      mode: 'dual-read',
      fernetKeys,
      endpoint: proxy.url,
      extra: { PHOTO_SERVICE_MAX_BYTES: String(MAX_BYTES), PHOTO_STORE_MAX_ATTEMPTS: '1' },
    }),
    path.join(tmpDir(), 'photo-service.log'),
  );
});

afterAll(async () => {
  await svc?.stop();
  await proxy?.close();
  legacyApp.destroy();
  primaryApp.destroy();
});

beforeEach(() => proxy.setRule(undefined));

test('health and metrics', async () => {
  const health = await call(`${svc.url}/healthz`);
  expect(health.status).toBe(200);
  expect(health.json()).toEqual({ status: 'ok', mode: 'dual-read' });
  const metrics = await call(`${svc.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.json()).toMatchObject({
    reads: { new: expect.any(Number), legacy: expect.any(Number) },
    fallbackHits: expect.any(Number),
    errors: expect.any(Object),
  });
});

test('upload, then retrieve (GET and HEAD) from the new bucket', async () => {
  const key = `${uniqueKey('svc/upload')}/IMG 0001.jpg`;
  const bytes = photo(5000);
  const put = await call(photoUrl(svc.url, key), {
    method: 'PUT',
    headers: { 'Content-Type': 'image/jpeg' },
    body: bytes,
  });
  expect(put.status).toBe(201);
  expect(put.json()).toEqual({ key, size: bytes.length, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
  expect(await existsIn('legacy', key)).toBe(false);

  const got = await call(photoUrl(svc.url, key));
  expect(got.status).toBe(200);
  expect(got.headers.get('content-type')).toBe('image/jpeg');
  expect(got.headers.get('content-length')).toBe(String(bytes.length));
  expect(got.headers.get('x-photo-source')).toBe('new');
  expect(got.headers.get('cache-control')).toBe('private, no-store');
  expect(got.headers.get('etag')).toBe((put.json() as { etag: string }).etag);
  expect(sha256(got.body)).toBe(sha256(bytes));

  const head = await call(photoUrl(svc.url, key), { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(bytes.length));
  expect(head.body.length).toBe(0);
});

test('a photo only in the legacy bucket is served decrypted, and its fallback hit is one JSON line on stdout', async () => {
  const key = uniqueKey('svc/legacy');
  const bytes = photo(4000);
  await putLegacy(key, codec.encrypt(bytes, { key }));
  const since = new Date();
  const got = await call(photoUrl(svc.url, key));
  expect(got.status).toBe(200);
  expect(got.headers.get('x-photo-source')).toBe('legacy');
  expect(got.headers.get('content-type')).toBe('image/jpeg');
  expect(sha256(got.body)).toBe(sha256(bytes));
  const hits = await countFallbackHitsInFile(svc.logFile, { since: new Date(since.getTime() - 1000) });
  expect(hits.sampleKeys).toContain(key);
  const lines = svc
    .stdout()
    .split('\n')
    .filter((l) => l.includes(key));
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ event: 'store.fallback_hit', key, op: 'get', mode: 'dual-read' });
});

test('odd keys travel through URLs intact, in both buckets', async () => {
  const base = uniqueKey('svc/odd');
  const names = [
    'holiday photo 1.jpg',
    'a+b=c&d.jpg',
    '100% real.jpg',
    'escaped%2Fslash%20and%41.jpg',
    'caf\u00e9.jpg',
    'cafe\u0301.jpg',
    '\u65e5\u672c \u{1F4F7}.jpg',
    'question?hash#semi;colon.jpg',
    `quote's "and" <angle>.jpg`,
    'double//slash.jpg',
    ' leading.jpg',
  ];
  for (const [i, name] of names.entries()) {
    const key = `${base}/${name}`;
    const bytes = photo(100 + i);
    if (i % 2) await putLegacy(key, codec.encrypt(bytes, { key }));
    else
      expect(
        (await call(photoUrl(svc.url, key), { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: bytes }))
          .status,
      ).toBe(201);
    const got = await call(photoUrl(svc.url, key));
    expect([name, got.status, got.headers.get('x-photo-source')]).toEqual([name, 200, i % 2 ? 'legacy' : 'new']);
    expect(sha256(got.body)).toBe(sha256(bytes));
  }
});

test('a missing photo is 404 with a clear body', async () => {
  const key = uniqueKey('svc/missing');
  const got = await call(photoUrl(svc.url, key));
  expect(got.status).toBe(404);
  expect(got.json()).toEqual({ error: 'no such photo' });
  expect((await call(photoUrl(svc.url, key), { method: 'HEAD' })).status).toBe(404);
});

test('DELETE removes the photo from legacy and leaves a tombstone in new (dual-read); it stays gone', async () => {
  const key = uniqueKey('svc/delete');
  await putLegacy(key, codec.encrypt(photo(), { key }));
  expect(
    (await call(photoUrl(svc.url, key), { method: 'PUT', headers: { 'Content-Type': 'image/png' }, body: photo() }))
      .status,
  ).toBe(201);
  const del = await call(photoUrl(svc.url, key), { method: 'DELETE' });
  expect(del.status).toBe(204);
  expect(del.body.length).toBe(0);
  expect(await existsIn('legacy', key)).toBe(false);
  const inNew = await primaryApp.send(new HeadObjectCommand({ Bucket: state.buckets.primary, Key: key }));
  expect([inNew.ContentLength, isTombstone(inNew.Metadata)]).toEqual([0, true]);
  expect((await call(photoUrl(svc.url, key))).status).toBe(404);
  expect((await call(photoUrl(svc.url, key), { method: 'HEAD' })).status).toBe(404);
  expect((await call(photoUrl(svc.url, key), { method: 'DELETE' })).status).toBe(204); // idempotent
});

describe('bad requests get a 4xx and a body that says what to fix', () => {
  const key = () => uniqueKey('svc/bad');
  test.each([
    [
      'a Content-Type that is not an image',
      () => ({
        url: photoUrl(svc.url, key()),
        init: { method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body: 'hi' },
      }),
      415,
      'the Content-Type must be an image type, e.g. image/jpeg',
    ],
    [
      'no Content-Type',
      () => ({ url: photoUrl(svc.url, key()), init: { method: 'PUT', body: photo(10) } }),
      415,
      'the Content-Type must be an image type, e.g. image/jpeg',
    ],
    [
      'an empty photo',
      () => ({
        url: photoUrl(svc.url, key()),
        init: { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: Buffer.alloc(0) },
      }),
      400,
      'the photo is empty',
    ],
    [
      'a photo over the limit',
      () => ({
        url: photoUrl(svc.url, key()),
        init: { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: photo(MAX_BYTES + 1) },
      }),
      413,
      `the photo is larger than ${MAX_BYTES} bytes`,
    ],
    [
      'bad percent-encoding',
      () => ({ url: `${svc.url}/photos/abc%E0%A4%A`, init: {} }),
      400,
      'the photo key is not valid percent-encoding',
    ],
    ['no key', () => ({ url: `${svc.url}/photos/`, init: {} }), 400, 'the photo key is missing: use /photos/<key>'],
    [
      'a key over 1024 bytes',
      () => ({ url: photoUrl(svc.url, 'k'.repeat(1025)), init: {} }),
      400,
      'the photo key is longer than 1024 bytes (UTF-8), the most S3 allows',
    ],
    [
      'a control character in the key',
      () => ({ url: photoUrl(svc.url, 'a\u0001b'), init: {} }),
      400,
      'the photo key holds control characters',
    ],
    [
      'an unknown path',
      () => ({ url: `${svc.url}/images/x`, init: {} }),
      404,
      'no such endpoint: use /photos/<key>, /healthz or /metrics',
    ],
    [
      'POST on a photo',
      () => ({ url: photoUrl(svc.url, key()), init: { method: 'POST', body: 'x' } }),
      405,
      'method POST is not allowed on /photos/<key>',
    ],
    [
      'PUT on /healthz',
      () => ({ url: `${svc.url}/healthz`, init: { method: 'PUT', body: 'x' } }),
      405,
      '/healthz answers GET only',
    ],
  ] as Array<[string, () => { url: string; init: RequestInit }, number, string]>)(
    '%s',
    async (_name, make, status, error) => {
      const { url, init } = make();
      const res = await call(url, init);
      expect(res.status).toBe(status);
      expect(res.json()).toEqual({ error });
      if (status === 405) expect(res.headers.get('allow')).toBeTruthy();
    },
  );
});

test('an upload of unknown length (chunked) over the limit is refused with 413 as soon as it passes the limit', async () => {
  const key = uniqueKey('svc/chunked');
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 4 * MAX_BYTES) return controller.close();
      sent += 64 * 1024;
      controller.enqueue(photo(64 * 1024));
    },
  });
  const res = await call(photoUrl(svc.url, key), {
    method: 'PUT',
    headers: { 'Content-Type': 'image/jpeg' },
    body,
    duplex: 'half',
  } as RequestInit);
  expect(res.status).toBe(413);
  expect(res.json()).toEqual({ error: `the photo is larger than ${MAX_BYTES} bytes` });
  expect(await existsIn('primary', key)).toBe(false);
  // A chunked upload within the limit is fine.
  const small = photo(1000);
  const ok = await call(photoUrl(svc.url, key), {
    method: 'PUT',
    headers: { 'Content-Type': 'image/jpeg' },
    body: new ReadableStream({ start: (c) => (c.enqueue(small), c.close()) }),
    duplex: 'half',
  } as RequestInit);
  expect(ok.status).toBe(201);
  expect(sha256((await call(photoUrl(svc.url, key))).body)).toBe(sha256(small));
});

describe('storage failures: a status and a plain message, never internals', () => {
  test('a corrupt legacy photo is 502, and no byte of it is sent', async () => {
    const key = uniqueKey('svc/corrupt');
    const token = Buffer.from(codec.encrypt(photo(), { key }));
    token[100] = token[100] === 0x41 ? 0x42 : 0x41;
    await putLegacy(key, token);
    const got = await call(photoUrl(svc.url, key));
    expect(got.status).toBe(502);
    expect(got.json()).toEqual({ error: 'the stored photo could not be read' });
  });

  test('a 503 from the new bucket is 503 with Retry-After, and legacy is not asked', async () => {
    const key = uniqueKey('svc/unavailable');
    await putLegacy(key, codec.encrypt(photo(), { key }));
    proxy.setRule((r) =>
      r.bucket === state.buckets.primary && r.key === key
        ? { kind: 'respond', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
        : undefined,
    );
    const seenBefore = proxy.seen.length;
    const got = await call(photoUrl(svc.url, key));
    expect(got.status).toBe(503);
    expect(got.headers.get('retry-after')).toBe('1');
    expect(got.json()).toEqual({ error: 'photo storage is unavailable; try again shortly' });
    expect(proxy.seen.slice(seenBefore).filter((r) => r.bucket === state.buckets.legacy)).toEqual([]);
  });

  test('a 403 from the new bucket is 502, not a fallback', async () => {
    const key = uniqueKey('svc/denied');
    await putLegacy(key, codec.encrypt(photo(), { key }));
    proxy.setRule((r) =>
      r.bucket === state.buckets.primary && r.key === key
        ? { kind: 'respond', status: 403, code: 'AccessDenied' }
        : undefined,
    );
    const got = await call(photoUrl(svc.url, key));
    expect(got.status).toBe(502);
    expect(got.json()).toEqual({ error: 'photo storage refused the request' });
  });

  test('the errors are logged as JSON lines with their cause, and nothing anywhere holds a key, a stack or a path', async () => {
    const errors = svc
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"service.error"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(errors.map((e) => [e.status, e.kind, e.side])).toEqual(
      expect.arrayContaining([
        [502, 'corrupt', 'legacy'],
        [503, 'unavailable', 'new'],
        [502, 'denied', 'new'],
      ]),
    );
    const everything = [...bodies, svc.stdout(), svc.stderr()].join('\n');
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    expect(bodies.length).toBeGreaterThan(10);
    for (const b of bodies)
      expect(b).not.toMatch(/SlowDown|AccessDenied|Codec|legacy|bucket|chatapp|chat-photos|HTTP \d/);
  });
});

describe('start-up', () => {
  const base = () => storeEnv({ mode: 'dual-read', fernetKeys });

  test.each([
    [
      'no mode',
      { PHOTO_STORE_MODE: undefined },
      /^photo-service: PHOTO_STORE_MODE is not set: set it to one of legacy-only, read-both-write-legacy, dual-read, new-only\n$/,
    ],
    [
      'no codec keys',
      { LEGACY_FERNET_KEYS: undefined },
      /^photo-service: codec\.keys: environment variable LEGACY_FERNET_KEYS is not set; /,
    ],
    [
      'a wrong secret key',
      { AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' },
      /^photo-service: cannot start: HeadBucket on the new bucket failed: .*HTTP 403.*; check the buckets, endpoints and keys\n$/,
    ],
    [
      'a missing legacy bucket',
      { PHOTO_STORE_LEGACY_BUCKET: 'no-such-legacy-bucket' },
      /^photo-service: cannot start: HeadBucket on the legacy bucket failed: .*404.*\n$/,
    ],
    [
      'an unreachable endpoint',
      { PHOTO_STORE_ENDPOINT: 'http://127.0.0.1:9', PHOTO_STORE_MAX_ATTEMPTS: '1' },
      /^photo-service: cannot start: HeadBucket on the new bucket failed: .*ECONNREFUSED.*\n$/,
    ],
    [
      'a bad PORT',
      { PORT: 'eighty' },
      /^photo-service: PORT must be a whole number from 0 to 65535 \(got "eighty"\)\n$/,
    ],
  ] as Array<[string, NodeJS.ProcessEnv, RegExp]>)('%s: one line on stderr, exit 2', async (_name, patch, message) => {
    const res = await runPhotoServiceToExit({ ...base(), ...patch });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    for (const secret of [...SECRETS, 'wrong-secret-value']) expect(res.stderr + res.stdout).not.toContain(secret);
  });

  test('behind a balancer: keep-alive outlives an ALB idle timeout; SIGTERM answers the request in flight, then closes its connection at once', async () => {
    const held = await startS3Proxy(state.endpoint);
    const other = await startPhotoService(
      storeEnv({ mode: 'new-only', endpoint: held.url }),
      path.join(tmpDir(), 'keep-alive.log'),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = (p: string) =>
        new Promise<{ res: http.IncomingMessage; socket: Socket }>((resolve, reject) => {
          http
            .get(`${other.url}${p}`, { agent }, (res) => {
              const socket = res.socket; // detached from the response once it ended
              res.resume().on('end', () => resolve({ res, socket }));
            })
            .on('error', reject);
        });
      const health = await get('/healthz');
      expect(health.res.headers['keep-alive']).toBe('timeout=65'); // PHOTO_SERVICE_KEEP_ALIVE_MS's default, over the ALB's 60 s
      const key = uniqueKey('svc/keep-alive');
      let release!: () => void;
      held.setRule((r) =>
        r.method === 'GET' && r.key === key
          ? { kind: 'hold', until: new Promise<void>((resolve) => (release = resolve)) }
          : undefined,
      );
      const inFlight = get(`/photos/${encodeURIComponent(key)}`);
      while (!held.seen.some((r) => r.key === key)) await new Promise((r) => setTimeout(r, 20));
      const stopped = other.stop();
      await new Promise((r) => setTimeout(r, 300));
      release();
      const { res, socket } = await inFlight;
      expect(res.statusCode).toBe(404); // answered, although SIGTERM came while it waited for S3
      // The connection it came on is closed by the service right after (not when the 65 s keep-alive would end it),
      // so the service exits (jest's timeout bounds this wait).
      await new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
      expect(await stopped).toBe(0);
    } finally {
      agent.destroy();
      await other.stop();
      await held.close();
    }
  });

  test("SIGTERM to `npm run photo-service` reaches the service (npm's child is the service itself): it stops cleanly, nothing left running", async () => {
    // As a user runs it: npm, its script (exec node bin/bucketmove.js photo-service), the launcher, which runs the
    // service in its own process (compiling dist/ first if a source changed, hence the long wait for the first line).
    const npm = spawn('npm', ['run', '-s', 'photo-service'], {
      cwd: REPO,
      env: {
        ...cleanEnv(),
        PATH: process.env.PATH,
        PORT: '0',
        ...storeEnv({ mode: 'new-only', extra: { PHOTO_STORE_HEARTBEAT_MS: '200' } }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const npmExit = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    // The service's process id, from its heartbeat's instance ("<pid>-<random>").
    let servicePid: number | undefined;
    for (let i = 0; i < 3000 && servicePid === undefined && npm.exitCode === null; i++) {
      const beat = out.split('\n').find((l) => l.includes(`"event":"${HEARTBEAT_EVENT}"`));
      if (beat) servicePid = Number((JSON.parse(beat) as { instance: string }).instance.split('-')[0]);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect({ servicePid, err }).toEqual({ servicePid: expect.any(Number), err: expect.any(String) });
    try {
      // npm's own child: `sh -c "exec node bin/bucketmove.js photo-service"` became the launcher, which runs the
      // service in its process (no shell or launcher in between that a signal would stop while the service lives on).
      const parentPid = Number(
        fs
          .readFileSync(`/proc/${servicePid}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ')[1],
      );
      expect(parentPid).toBe(npm.pid);
      npm.kill('SIGTERM');
      expect(await npmExit).toBe(0); // the service's own exit code: it finished its requests and stopped
      expect(out.trim().split('\n').pop()).toContain('"event":"service.stopped"');
      expect(() => process.kill(servicePid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' })); // no orphan
    } finally {
      // A regression would leave the service running on its port (and this file's pipes open): end it here.
      try {
        if (servicePid) process.kill(servicePid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  }, 400_000);

  test('SIGTERM stops it cleanly (exit 0): its heartbeats, a last one, then its counters in the last line; the audit reads the beats', async () => {
    const started = new Date();
    const other = await startPhotoService(
      storeEnv({ mode: 'new-only', extra: { PHOTO_STORE_HEARTBEAT_MS: '200' } }),
      path.join(tmpDir(), 'other.log'),
    );
    const records = () =>
      other
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, any>);
    const beats = () => records().filter((r) => r.event === HEARTBEAT_EVENT);
    const key = uniqueKey('svc/stop');
    expect(
      (
        await call(photoUrl(other.url, key), {
          method: 'PUT',
          headers: { 'Content-Type': 'image/jpeg' },
          body: photo(10),
        })
      ).status,
    ).toBe(201);
    await primaryApp.send(new DeleteObjectCommand({ Bucket: state.buckets.primary, Key: key }));
    for (let i = 0; i < 200 && beats().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await other.stop()).toBe(0);
    const all = beats();
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.slice(0, -1).every((b) => b.final === undefined)).toBe(true);
    expect(all[all.length - 1]).toMatchObject({ final: true, mode: 'new-only', intervalMs: 200, beat: all.length });
    expect(new Set(all.map((b) => b.instance)).size).toBe(1);
    expect(all.reduce((n, b) => n + b.counts.writes, 0)).toBe(1);
    const last = records().pop();
    expect(last).toMatchObject({ event: 'service.stopped', counts: { writes: 1 } });
    const audited = await auditLogFile(other.logFile, { start: started, end: new Date() });
    expect(audited.coverage).toMatchObject({
      heartbeats: all.length,
      processes: 1,
      byMode: { 'new-only': all.length },
      fallbackHits: 0,
    });
  });
});
