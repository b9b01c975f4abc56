/**
 * The SDK client factory against the real RGW: streamed and multipart uploads, conditional writes, SSE-KMS on the rig's
 * testing key, static keys, session refresh, preflight errors, and /usr/bin/aws as an independent reader.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError } from '../../workspaces/errors';
import { createClients, createSideClient, preflight, preflightBoth } from '../../migrator/src/aws/clients';
import { httpStatusOf } from '../../migrator/src/aws/errors';
import { awsCliAs, rigState, testWorkspace, uniqueKey } from './helpers/rig';

const state = rigState();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** A stream of `size` bytes in small chunks, so the SDK cannot see its length or buffer it. */
function chunked(data: Buffer, chunk = 64 * 1024): Readable {
  let at = 0;
  return new Readable({
    read() {
      this.push(at < data.length ? data.subarray(at, (at += chunk)) : null);
    },
  });
}

describe('the client factory (assume-role, as the migrator runs)', () => {
  const ws = testWorkspace();
  const clients = createClients(ws, { credentials: 'assume-role' });
  const writer = clients.primary;
  afterAll(() => Object.values(clients).forEach((c) => c.destroy()));

  test('configures path-style, WHEN_REQUIRED checksums, region and the rig endpoint', async () => {
    const cfg = writer.s3.config;
    expect(cfg.forcePathStyle).toBe(true);
    expect(await cfg.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await cfg.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await cfg.region()).toBe(ws.region);
    expect(writer.endpoint.url).toBe(state.endpoint);
    expect(writer.bucket).toBe(state.buckets.primary);
  });

  test('preflight passes for both sides', async () => {
    await expect(preflight(clients.legacy)).resolves.toBeUndefined();
    await expect(preflight(clients.primary)).resolves.toBeUndefined();
  });

  test('a streamed PutObject (known length, body read chunk by chunk) lands byte-identical', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const Key = uniqueKey('clients/streamed');
    await writer.s3.send(
      new PutObjectCommand({
        Bucket: writer.bucket,
        Key,
        Body: chunked(data),
        ContentLength: data.length,
        ContentType: 'image/jpeg',
      }),
    );
    const got = await writer.s3.send(new GetObjectCommand({ Bucket: writer.bucket, Key }));
    expect(got.ContentType).toBe('image/jpeg');
    expect(sha256(await bodyOf(got))).toBe(sha256(data));
  });

  test('a lib-storage multipart upload of a stream of unknown length lands byte-identical', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 5);
    const Key = uniqueKey('clients/multipart');
    const upload = new Upload({
      client: writer.s3,
      params: {
        Bucket: writer.bucket,
        Key,
        Body: chunked(data),
        ContentType: 'image/jpeg',
        Metadata: { 'source-etag': 'abc' },
      },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
    const head = await writer.s3.send(new HeadObjectCommand({ Bucket: writer.bucket, Key }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ETag).toMatch(/-3"$/); // three parts
    expect(head.Metadata).toEqual({ 'source-etag': 'abc' });
    expect(sha256(await bodyOf(await writer.s3.send(new GetObjectCommand({ Bucket: writer.bucket, Key }))))).toBe(
      sha256(data),
    );
  });

  test('If-None-Match: * creates a new key and answers 412 on an existing one, leaving it untouched', async () => {
    const Key = uniqueKey('clients/conditional');
    await writer.s3.send(new PutObjectCommand({ Bucket: writer.bucket, Key, Body: 'first', IfNoneMatch: '*' }));
    let status = 0;
    try {
      await writer.s3.send(new PutObjectCommand({ Bucket: writer.bucket, Key, Body: 'second', IfNoneMatch: '*' }));
    } catch (err) {
      status = httpStatusOf(err) ?? -1;
    }
    expect(status).toBe(412);
    expect((await bodyOf(await writer.s3.send(new GetObjectCommand({ Bucket: writer.bucket, Key })))).toString()).toBe(
      'first',
    );
  });

  test('SSE-KMS with the rig key (an ARN-shaped key id) is applied and echoed, also to the AWS CLI', async () => {
    const keyId = state.kms!.keyId;
    expect(keyId).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/);
    const Key = uniqueKey('clients/kms');
    const put = await writer.s3.send(
      new PutObjectCommand({
        Bucket: writer.bucket,
        Key,
        Body: 'secret photo',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: keyId,
      }),
    );
    expect(put.ServerSideEncryption).toBe('aws:kms');
    const head = await writer.s3.send(new HeadObjectCommand({ Bucket: writer.bucket, Key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(keyId);
    const cli = await awsCliAs('primaryApp', ['s3api', 'head-object', '--bucket', state.buckets.primary, '--key', Key]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId });
  });

  test('an SSE-KMS key id the server does not know is refused', async () => {
    const unknown = state.kms!.keyId.replace(/.{12}$/, '000000000000');
    let status = 0;
    try {
      await writer.s3.send(
        new PutObjectCommand({
          Bucket: writer.bucket,
          Key: uniqueKey('clients/kms-unknown'),
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: unknown,
        }),
      );
    } catch (err) {
      status = httpStatusOf(err) ?? -1;
    }
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });
});

describe('session refresh', () => {
  const ws = testWorkspace();
  const minSession = state.sts?.minSessionSeconds ?? 900;

  test('a long session is fetched once and reused', async () => {
    const c = createSideClient(ws, 'legacy', { credentials: 'assume-role', sessionDurationSeconds: 3600 });
    const first = await c.s3.config.credentials();
    const second = await c.s3.config.credentials();
    expect(second.accessKeyId).toBe(first.accessKeyId);
    expect(first.expiration!.getTime() - Date.now()).toBeGreaterThan(3000 * 1000);
    c.destroy();
  });

  test('a session within 5 minutes of its end is replaced before the next request', async () => {
    // Sessions shorter than the SDK's 5-minute refresh window are always "about to expire", so each request must
    // get a new one (the rig lets sessions be 60 s; AWS's floor is 900 s, which leaves 10 minutes before refresh).
    expect(minSession).toBeLessThan(300);
    const c = createSideClient(ws, 'legacy', { credentials: 'assume-role', sessionDurationSeconds: minSession });
    const seen = new Set<string>();
    for (let i = 0; i < 3; i += 1) {
      const creds = await c.s3.config.credentials();
      seen.add(creds.accessKeyId);
      await c.s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: 'no-such-key' })).catch((err) => {
        expect(httpStatusOf(err)).toBe(404); // authenticated and authorized: only the key is missing
      });
    }
    expect(seen.size).toBe(3);
    c.destroy();
  });
});

describe('static keys (the seed pattern)', () => {
  const ws = testWorkspace((w) => {
    w.migration.credentials = 'static';
  });
  const env = {
    AWS_ACCESS_KEY_ID: state.principals.primaryApp.accessKeyId,
    AWS_SECRET_ACCESS_KEY: state.principals.primaryApp.secretAccessKey,
    LEGACY_AWS_ACCESS_KEY_ID: state.principals.legacyApp.accessKeyId,
    LEGACY_AWS_SECRET_ACCESS_KEY: state.principals.legacyApp.secretAccessKey,
  };

  test('each side uses its own variables and can write its bucket', async () => {
    const clients = createClients(ws, { env });
    for (const c of Object.values(clients)) {
      expect(c.mode).toBe('static');
      expect(c.roleArn).toBeUndefined();
      const Key = uniqueKey(`static/${c.side}`);
      await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key, Body: c.side }));
      expect((await bodyOf(await c.s3.send(new GetObjectCommand({ Bucket: c.bucket, Key })))).toString()).toBe(c.side);
      expect((await c.s3.config.credentials()).accessKeyId).toBe(
        c.side === 'legacy' ? env.LEGACY_AWS_ACCESS_KEY_ID : env.AWS_ACCESS_KEY_ID,
      );
      c.destroy();
    }
  });

  test("on the rig, a side with neither variable set uses the rig's app user of that side", async () => {
    const c = createSideClient(ws, 'legacy', { env: {} });
    expect((await c.s3.config.credentials()).accessKeyId).toBe(state.principals.legacyApp.accessKeyId);
    await expect(preflight(c)).resolves.toBeUndefined();
    c.destroy();
  });

  test('keys of the wrong account fail preflight with one line', async () => {
    const c = createSideClient(ws, 'legacy', {
      env: { LEGACY_AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, LEGACY_AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY },
    });
    // The primary app's keys name a bucket of their own tenant: the legacy bucket does not exist there.
    const err = await preflight(c).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^the legacy side: bucket "[^"]+" does not exist at http/);
    expect((err as Error).message).not.toContain('\n');
    c.destroy();
  });

  test("both sides' preflight at once: the legacy side's error first, as in turn; the primary's when only it fails", async () => {
    const swapped = {
      legacy: createSideClient(ws, 'legacy', {
        env: {
          LEGACY_AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
          LEGACY_AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
        },
      }),
      primary: createSideClient(ws, 'primary', {
        env: {
          AWS_ACCESS_KEY_ID: env.LEGACY_AWS_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: env.LEGACY_AWS_SECRET_ACCESS_KEY,
        },
      }),
    };
    const good = { legacy: createSideClient(ws, 'legacy', { env }), primary: createSideClient(ws, 'primary', { env }) };
    const failure = (p: Promise<void>) =>
      p.then(
        () => 'passed',
        (e: unknown) => (e instanceof ConfigError ? e.message : `not a ConfigError: ${String(e)}`),
      );
    expect(await failure(preflightBoth(swapped))).toMatch(/^the legacy side: bucket "[^"]+" does not exist/);
    expect(await failure(preflightBoth({ legacy: good.legacy, primary: swapped.primary }))).toMatch(
      /^the primary side: bucket "[^"]+" does not exist/,
    );
    expect(await failure(preflightBoth(good))).toBe('passed');
    for (const c of [swapped.legacy, swapped.primary, good.legacy, good.primary]) c.destroy();
  });
});

describe('credential errors are one line', () => {
  test('STS refusing the role (a master principal the trust policy does not name) fails preflight', async () => {
    const ws = testWorkspace();
    const c = createSideClient(ws, 'legacy', {
      credentials: 'assume-role',
      master: {
        accessKeyId: state.principals.primaryApp.accessKeyId,
        secretAccessKey: state.principals.primaryApp.secretAccessKey,
      },
      transport: { maxAttempts: 1 },
    });
    const err = await preflight(c).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `the legacy side: STS refused to assume ${state.roles.reader.arn} (HTTP 403): check that the role trusts the migrator principal and the workspace's migration.externalId`,
    );
    c.destroy();
  });

  test('missing static keys on a URL endpoint: a ConfigError naming the variables, before any request', () => {
    const ws = testWorkspace((w) => {
      w.migration.credentials = 'static';
      w.legacy.endpoint = state.endpoint;
      w.primary.endpoint = state.endpoint;
    });
    expect(() => createSideClient(ws, 'primary', { env: {} })).toThrow(
      new ConfigError(
        'missing AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the primary side uses static keys, so set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or use "credentials": "assume-role" in the workspace)',
      ),
    );
    expect(() => createSideClient(ws, 'legacy', { env: { LEGACY_AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' } })).toThrow(
      /^missing LEGACY_AWS_SECRET_ACCESS_KEY: /,
    );
  });
});

describe('the AWS CLI v2 as an independent client', () => {
  test('reads an object from the rig with the state keys', async () => {
    const ws = testWorkspace((w) => {
      w.migration.credentials = 'static';
    });
    const legacy = createSideClient(ws, 'legacy', { env: {} });
    const Key = uniqueKey('cli/photo with spaces+plus');
    const data = randomBytes(200 * 1024);
    await legacy.s3.send(new PutObjectCommand({ Bucket: legacy.bucket, Key, Body: data, ContentType: 'image/jpeg' }));
    legacy.destroy();
    const out = path.join(os.tmpdir(), `bucketmove-cli-${process.pid}`);
    const cli = await awsCliAs('legacyApp', [
      's3api',
      'get-object',
      '--bucket',
      state.buckets.legacy,
      '--key',
      Key,
      out,
    ]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ContentLength: data.length, ContentType: 'image/jpeg' });
    expect(sha256(fs.readFileSync(out))).toBe(sha256(data));
    fs.rmSync(out);
  });

  test('fails (non-zero exit) where the keys have no right', async () => {
    // The migrator principal has no grant on the new bucket (it writes through the writer role only).
    const cli = await awsCliAs('migrator', ['s3api', 'list-objects-v2', '--bucket', state.buckets.primary]);
    expect(cli.code).not.toBe(0);
    expect(cli.stdout).toBe('');
  });
});
