/**
 * The Batch Operations function on the real RGW, called with events shaped like AWS's documented ones (schema 2.0:
 * job.userArguments, tasks with s3Bucket and a URL-encoded s3Key): what it writes (checked with /usr/bin/aws too),
 * what it answers for a tampered object, an app-written key, a 503, a deadline, a delete during the copy, another
 * bucket, another env, and a malformed event.
 */
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { buildSync } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../stacks/lambda-bundle';
import { esbuildTarget } from '../../stacks/lambda-runtimes';
import { createBatchHandler, handler as defaultHandler, type BatchHandler } from '../../migrator/src/batch/handler';
import { WORKSPACE_ENV_VAR } from '../../workspaces/batch-layout';
import { InvalidInvocationError, type BatchResponse } from '../../migrator/src/batch/invocation';
import { decodeOutcome } from '../../migrator/src/batch/result-string';
import { FernetCodec } from '../../migrator/src/codec/fernet';
import { PROBE_PREFIX } from '../../migrator/src/migrate/conditional-write-probe';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { createLogger } from '../../migrator/src/log';
import { encodeKey } from '../../migrator/src/report/batch-csv';
import { tmpDirPerFile } from '../helpers/tmp';
import { RUNTIME_NODE_MAJOR, runScript, runtimeNode } from '../helpers/runtime-node';
import { buildLambdaBundle } from '../../scripts/build-lambda';
import { RIG_STATE_ENV, rigStatePath } from '../../migrator/src/aws/rig-state';
import { fernetKey, getNew, getNewWithAwsCli, listKeys, putLegacy, putNewAsApp, sha256 } from './helpers/migration';
import { rigState, s3As, testWorkspace, uniqueKey } from './helpers/rig';
import { startS3Proxy, type ProxyRule, type S3Proxy } from './helpers/s3-proxy';

const tmp = tmpDirPerFile('bm-batch-');
const runtime = runtimeNode();
const fernet = () => new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 64 * 1024 * 1024 });

function workspaceJson(): string {
  const { file: _file, ...plain } = testWorkspace();
  return JSON.stringify(plain);
}

const quiet = createLogger({ name: 'test', level: 'silent' });
const functionEnv = (): NodeJS.ProcessEnv => ({
  [WORKSPACE_ENV_VAR]: workspaceJson(),
  LEGACY_FERNET_KEYS: fernetKey(),
});

let taskCounter = 0;

/** An event as AWS documents schema 2.0: the key URL-encoded as in the CSV manifest, a job id, userArguments. */
function event(keys: readonly string[], o: { env?: string; bucket?: string } = {}) {
  return {
    invocationSchemaVersion: '2.0',
    invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
    job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce', userArguments: { env: o.env ?? 'local' } },
    tasks: keys.map((k) => ({
      taskId: Buffer.from(`task-${++taskCounter}`).toString('base64'),
      s3Key: encodeKey(k),
      s3VersionId: null,
      s3Bucket: o.bucket ?? rigState().buckets.legacy,
    })),
  };
}

function only(res: BatchResponse) {
  expect(res.results).toHaveLength(1);
  const r = res.results[0];
  return { code: r.resultCode, outcome: decodeOutcome(r.resultString)!, raw: r.resultString };
}

describe('the handler with the rig workspace', () => {
  const prefix = `${uniqueKey('batch-fn')}/`;
  const plain = new Map<string, Buffer>();
  let fn: BatchHandler;

  beforeAll(async () => {
    for (const name of ['holiday photo ü.jpg', 'a+b/scan 100%.jpg', 'x-ray (2).png', 'plain.jpg']) {
      const body = randomBytes(5000 + plain.size * 777);
      plain.set(`${prefix}${name}`, body);
      await putLegacy(`${prefix}${name}`, fernet().encrypt(body), 'image/jpeg', { 'uploaded-by': 'user-9' });
    }
    fn = createBatchHandler({ env: functionEnv(), log: quiet });
  }, 60_000);

  test('an event as AWS documents it (one task, URL-encoded key with spaces and unicode) copies the object: Succeeded', async () => {
    const key = `${prefix}holiday photo ü.jpg`;
    const ev = event([key]);
    expect(ev.tasks[0].s3Key).toContain('holiday%20photo%20%C3%BC.jpg');
    const res = await fn(ev, { getRemainingTimeInMillis: () => 900_000 });
    expect(res).toMatchObject({
      invocationSchemaVersion: '2.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: ev.invocationId,
    });
    expect(res.results[0].taskId).toBe(ev.tasks[0].taskId);
    const { code, outcome, raw } = only(res);
    expect(code).toBe('Succeeded');
    expect(outcome).toMatchObject({
      state: 'copied',
      plaintextSha256: sha256(plain.get(key)!),
      plaintextSize: plain.get(key)!.length,
    });
    expect(outcome.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(1000);
    const got = (await getNew(key))!;
    expect(sha256(got.body)).toBe(sha256(plain.get(key)!));
    expect(got.metadata).toMatchObject({
      'uploaded-by': 'user-9',
      [PROVENANCE.plaintextSha256]: sha256(plain.get(key)!),
      [PROVENANCE.sourceEtag]: outcome.etag,
    });
  });

  test('several tasks in one event, keys with "+", "%" and parentheses; /usr/bin/aws reads the plaintext and the provenance', async () => {
    const keys = [`${prefix}a+b/scan 100%.jpg`, `${prefix}x-ray (2).png`];
    const res = await fn(event(keys));
    expect(res.results.map((r) => r.resultCode)).toEqual(['Succeeded', 'Succeeded']);
    const dir = tmp();
    for (const key of keys) {
      const got = await getNewWithAwsCli(key, dir);
      expect(got.code).toBe(0);
      expect(sha256(got.body!)).toBe(sha256(plain.get(key)!));
      expect(got.answer!.Metadata![PROVENANCE.plaintextSha256]).toBe(sha256(plain.get(key)!));
    }
  });

  test('the same task again (Batch Operations retries, or a second job) finds its own copy: Succeeded, already migrated', async () => {
    const key = `${prefix}holiday photo ü.jpg`;
    const { code, outcome } = only(await fn(event([key])));
    expect([code, outcome.state]).toEqual(['Succeeded', 'already-migrated']);
  });

  test("a tampered object: PermanentFailure with the codec's reason, and nothing written", async () => {
    const key = `${prefix}bad/tampered.jpg`;
    const token = fernet().encrypt(Buffer.alloc(500, 3)).toString();
    await putLegacy(
      key,
      Buffer.from(token.replace(/^(.{40})(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'))),
    );
    const { code, outcome } = only(await fn(event([key])));
    expect(code).toBe('PermanentFailure');
    expect(outcome).toMatchObject({ state: 'quarantined', errorCode: 'Codec.auth' });
    expect(await getNew(key)).toBeUndefined();
  });

  test('a key the app wrote in the new bucket meanwhile is kept, not overwritten: Succeeded, kept-app-version', async () => {
    const key = `${prefix}app/newer.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('old photo')));
    await putNewAsApp(key, Buffer.from('the app wrote this'));
    const { code, outcome } = only(await fn(event([key])));
    expect([code, outcome.state]).toEqual(['Succeeded', 'kept-app-version']);
    expect((await getNew(key))!.body.toString()).toBe('the app wrote this');
  });

  test('a key gone from the legacy bucket (deleted by the app since the manifest was made): Succeeded, vanished', async () => {
    const { code, outcome } = only(await fn(event([`${prefix}never-there.jpg`])));
    expect([code, outcome.state]).toEqual(['Succeeded', 'vanished']);
  });

  test('a task for another bucket: PermanentFailure, nothing read', async () => {
    const { code, outcome } = only(await fn(event([`${prefix}plain.jpg`], { bucket: 'someone-elses-bucket' })));
    expect([code, outcome.state, outcome.errorCode]).toEqual(['PermanentFailure', 'quarantined', 'WrongBucket']);
    expect(await getNew(`${prefix}plain.jpg`)).toBeUndefined();
  });

  test('a job made for another env: PermanentFailure for every task', async () => {
    const res = await fn(event([`${prefix}plain.jpg`, `${prefix}x-ray (2).png`], { env: 'prod' }));
    expect(res.results.map((r) => [r.resultCode, decodeOutcome(r.resultString)!.errorCode])).toEqual([
      ['PermanentFailure', 'WrongEnv'],
      ['PermanentFailure', 'WrongEnv'],
    ]);
  });

  test('schema 1.0 (s3BucketArn, no userArguments) is read too', async () => {
    const key = `${prefix}plain.jpg`;
    const res = await fn({
      invocationSchemaVersion: '1.0',
      invocationId: 'inv-1',
      job: { id: 'job-1' },
      tasks: [
        {
          taskId: 't1',
          s3Key: encodeKey(key),
          s3VersionId: '1',
          s3BucketArn: `arn:aws:s3:::${rigState().buckets.legacy}`,
        },
      ],
    });
    expect(res.invocationSchemaVersion).toBe('1.0');
    expect(only(res).code).toBe('Succeeded');
    expect(sha256((await getNew(key))!.body)).toBe(sha256(plain.get(key)!));
  });

  test('a malformed event throws a one-line error naming what is wrong', async () => {
    await expect(fn({ invocationSchemaVersion: '3.0', tasks: [] })).rejects.toThrow(InvalidInvocationError);
    await expect(fn({ ...event([`${prefix}plain.jpg`]), tasks: [{ taskId: 't', s3Bucket: 'b' }] })).rejects.toThrow(
      /tasks\.0\.s3Key/,
    );
    const noEnv = event([`${prefix}plain.jpg`]);
    await expect(fn({ ...noEnv, job: { id: 'j', userArguments: {} } })).rejects.toThrow(
      /userArguments\.env is missing/,
    );
  });

  test('the exported handler reads BUCKETMOVE_WORKSPACE from the environment', async () => {
    const key = `${prefix}default-export.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('via the exported handler')));
    const before = process.env[WORKSPACE_ENV_VAR];
    process.env[WORKSPACE_ENV_VAR] = workspaceJson();
    try {
      expect(only(await defaultHandler(event([key]))).code).toBe('Succeeded');
    } finally {
      if (before === undefined) delete process.env[WORKSPACE_ENV_VAR];
      else process.env[WORKSPACE_ENV_VAR] = before;
    }
    expect((await getNew(key))!.body.toString()).toBe('via the exported handler');
  });

  test('the esbuild bundle of the handler (what Lambda runs, no node_modules) copies an object the same way', async () => {
    const dir = tmp();
    const outfile = path.join(dir, 'index.js');
    buildSync({
      entryPoints: [path.join(__dirname, '../../migrator/src/batch/handler.ts')],
      bundle: true,
      platform: 'node',
      target: esbuildTarget(LAMBDA_BUNDLE.runtime),
      format: 'cjs',
      mainFields: ['main', 'module'],
      outfile,
      logLevel: 'silent',
    });
    const key = `${prefix}bundled/über photo.jpg`;
    const body = randomBytes(3000);
    await putLegacy(key, fernet().encrypt(body));
    const before = process.env[WORKSPACE_ENV_VAR];
    process.env[WORKSPACE_ENV_VAR] = workspaceJson();
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const bundled = require(outfile) as { handler: BatchHandler };
      const { code, outcome } = only(await bundled.handler(event([key]), { getRemainingTimeInMillis: () => 60_000 }));
      expect([code, outcome.state, outcome.plaintextSha256]).toEqual(['Succeeded', 'copied', sha256(body)]);
    } finally {
      if (before === undefined) delete process.env[WORKSPACE_ENV_VAR];
      else process.env[WORKSPACE_ENV_VAR] = before;
    }
    expect(sha256((await getNew(key))!.body)).toBe(sha256(body));
  }, 60_000);

  // The function's runtime runs another Node major than this machine (nodejs22.x: Node 22; see
  // test/helpers/runtime-node.ts): the bundle, on that Node, in a child process with only the function's environment.
  (runtime.ok ? test : test.skip)(
    runtime.ok
      ? `the bundle on Node ${RUNTIME_NODE_MAJOR} (the ${LAMBDA_BUNDLE.runtime} runtime's Node) copies an object`
      : `the bundle on Node ${RUNTIME_NODE_MAJOR} copies an object (skipped: ${runtime.reason})`,
    async () => {
      const dir = tmp();
      const outfile = buildLambdaBundle({
        entry: path.join(__dirname, '../../', LAMBDA_BUNDLE.entry),
        outdir: path.join(dir, 'batch-copy'),
      }).outfile;
      const key = `${prefix}bundled/node-${RUNTIME_NODE_MAJOR} photo.jpg`;
      const body = randomBytes(4000);
      await putLegacy(key, fernet().encrypt(body));
      const run = await runScript(
        runtime.ok ? runtime.node : '',
        `require(${JSON.stringify(outfile)}).handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000 })` +
          '.then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e)); process.exitCode = 1; })',
        { cwd: dir, env: { ...functionEnv(), [RIG_STATE_ENV]: rigStatePath(), EVENT: JSON.stringify(event([key])) } },
      );
      expect(run.stderr).not.toMatch(/Cannot find module|Error:/);
      expect(run.code).toBe(0);
      const { code, outcome } = only(JSON.parse(run.stdout) as BatchResponse);
      expect([code, outcome.state, outcome.plaintextSha256]).toEqual(['Succeeded', 'copied', sha256(body)]);
      expect(sha256((await getNew(key))!.body)).toBe(sha256(body));
    },
    120_000,
  );

  test('without BUCKETMOVE_WORKSPACE the handler fails with a one-line error saying what to set', async () => {
    const bare = createBatchHandler({ env: {}, log: quiet });
    await expect(bare(event([`${prefix}plain.jpg`]))).rejects.toThrow(/BUCKETMOVE_WORKSPACE is not set/);
  });
});

describe('the handler through a proxy that misbehaves on cue', () => {
  const prefix = `${uniqueKey('batch-fault')}/`;
  let proxy: S3Proxy;
  let fn: BatchHandler;
  afterAll(() => proxy?.close());

  beforeAll(async () => {
    proxy = await startS3Proxy(rigState().endpoint);
    fn = createBatchHandler({
      env: functionEnv(),
      clients: { rigState: { ...rigState(), endpoint: proxy.url }, transport: { maxAttempts: 2 } },
      deadlineMarginMs: 0,
      log: quiet,
    });
  });

  const on =
    (method: string, key: string, action: ReturnType<ProxyRule>): ProxyRule =>
    (r) =>
      r.method === method && r.key === key ? action : undefined;

  test('503 SlowDown on every GET of the object: TemporaryFailure (Batch Operations retries), nothing written', async () => {
    const key = `${prefix}slow.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('slow')));
    proxy.setRule(
      on('GET', key, { kind: 'respond', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }),
    );
    const { code, outcome } = only(await fn(event([key])));
    proxy.setRule(undefined);
    expect(code).toBe('TemporaryFailure');
    expect(outcome).toMatchObject({ state: 'failed', errorCode: 'SlowDown', httpStatus: 503 });
    expect(await getNew(key)).toBeUndefined();
    // Once S3 answers again, the retried task succeeds.
    expect(only(await fn(event([key]))).code).toBe('Succeeded');
  });

  test('the conditional-write probe meets a 503: the task is TemporaryFailure, the next one probes again and copies', async () => {
    const key = `${prefix}probe-first.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('after the probe')));
    // A container of its own, so that its first copying task is the one that probes.
    const fresh = createBatchHandler({
      env: functionEnv(),
      clients: { rigState: { ...rigState(), endpoint: proxy.url }, transport: { maxAttempts: 1 } },
      log: quiet,
    });
    proxy.setRule((r) =>
      r.key?.startsWith(PROBE_PREFIX)
        ? { kind: 'respond', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
        : undefined,
    );
    const first = only(await fresh(event([key])));
    proxy.setRule(undefined);
    expect(first.code).toBe('TemporaryFailure');
    expect(first.outcome).toMatchObject({ state: 'failed', httpStatus: 503 });
    expect(await getNew(key)).toBeUndefined();
    const again = only(await fresh(event([key])));
    expect([again.code, again.outcome.state]).toEqual(['Succeeded', 'copied']);
  });

  test('the deadline comes while the PUT is held: the copy is aborted, TemporaryFailure, nothing written', async () => {
    const key = `${prefix}late.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('late')));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    proxy.setRule(on('PUT', key, { kind: 'hold', until: released }));
    try {
      const { code, outcome } = only(await fn(event([key]), { getRemainingTimeInMillis: () => 300 }));
      expect(code).toBe('TemporaryFailure');
      expect(outcome).toMatchObject({ state: 'failed', errorCode: 'DeadlineExceeded' });
    } finally {
      proxy.setRule(undefined);
      release();
    }
    // The held PUT was abandoned by the client: whatever the server did with it, the task's retry ends in a copy.
    const again = only(await fn(event([key])));
    expect(again.code).toBe('Succeeded');
    expect(['copied', 'already-migrated']).toContain(again.outcome.state);
    expect((await getNew(key))!.body.toString()).toBe('late');
  });

  test('the app deletes the photo while its copy is being written: the copy is removed again (deleted-during-copy)', async () => {
    const key = `${prefix}deleted.jpg`;
    await putLegacy(key, fernet().encrypt(Buffer.from('soon gone')));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let putSeen!: () => void;
    const seen = new Promise<void>((resolve) => (putSeen = resolve));
    proxy.setRule((r) => {
      if (r.method !== 'PUT' || r.key !== key) return undefined;
      putSeen();
      return { kind: 'hold', until: released };
    });
    const running = fn(event([key]));
    await seen;
    // The app's delete (legacy first; the new bucket has nothing yet), straight to the server.
    await s3As('legacyApp').send(new DeleteObjectCommand({ Bucket: rigState().buckets.legacy, Key: key }));
    release();
    const { code, outcome } = only(await running);
    proxy.setRule(undefined);
    expect([code, outcome.state]).toEqual(['Succeeded', 'deleted-during-copy']);
    expect(await listKeys('primary', key)).toEqual([]);
  });
});
