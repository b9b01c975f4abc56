/**
 * The job side of S3 Batch Operations against the SDK's client mock: the exact CreateJob request, DescribeJob polling,
 * and a completion report (manifest.json + result CSV in a mocked S3) read into the migrator's summary, checkpoint and
 * report files. Also the pure parts: the event schema, the resultString, the report rows, the poll delay.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { mockClient } from 'aws-sdk-client-mock';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand, S3ControlClient, type JobDescriptor } from '@aws-sdk/client-s3-control';
import { loadWorkspace, parseWorkspaceJson, type LoadedWorkspace } from '../../workspaces/load';
import { completionRow } from '../../migrator/src/batch/completion-report';
import { clientRequestToken, createJobInput } from '../../migrator/src/batch/create-job';
import { decodeTaskKey, parseInvocation } from '../../migrator/src/batch/invocation';
import { outcomeOfRow } from '../../migrator/src/batch/job-summary';
import { decodeOutcome, encodeOutcome, RESULT_STRING_MAX_BYTES } from '../../migrator/src/batch/result-string';
import { checkBatchWorkspace, runBatchJob, type BatchJobOptions } from '../../migrator/src/batch/run-job';
import { pollDelay, waitForJob } from '../../migrator/src/batch/wait-job';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { parseCsvLine } from '../../migrator/src/report/batch-csv';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-batch-unit-');
const control = mockClient(S3ControlClient);
const s3 = mockClient(S3Client);

beforeEach(() => {
  control.reset();
  s3.reset();
});

function prod(patch: (ws: LoadedWorkspace) => void = (w) => (w.batchOperations.enabled = true)): LoadedWorkspace {
  const ws = structuredClone(loadWorkspace('prod'));
  patch(ws);
  return ws;
}

const body = (text: string) =>
  Readable.from([Buffer.from(text)]) as unknown as NonNullable<Awaited<ReturnType<S3Client['send']>>>;
const getObject = (text: string) => ({ Body: body(text) }) as never;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const JOB = 'a1b2c3d4-0000-4000-8000-000000000001';
const ETAG = '9b2cf535f27731c974343645a3985328';

describe('CreateJob', () => {
  test('the request: LambdaInvoke schema 2.0 with {env}, the CSV manifest pinned by its ETag, the AllTasks report, the role', () => {
    const ws = prod();
    const manifest = {
      bucket: ws.primary.bucket,
      key: 'bucketmove-batch/manifests/prod-20261126T100000Z.csv',
      etag: ETAG,
    };
    expect(createJobInput(ws, manifest)).toEqual({
      AccountId: '210987654321',
      ConfirmationRequired: false,
      Operation: {
        LambdaInvoke: {
          FunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:bucketmove-batch-copy',
          InvocationSchemaVersion: '2.0',
          UserArguments: { env: 'prod' },
        },
      },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: {
          ObjectArn: 'arn:aws:s3:::acme-chat-photos-prod/bucketmove-batch/manifests/prod-20261126T100000Z.csv',
          ETag: ETAG,
        },
      },
      Report: {
        Bucket: 'arn:aws:s3:::acme-chat-photos-prod',
        Prefix: 'bucketmove-batch/reports',
        Format: 'Report_CSV_20180820',
        Enabled: true,
        ReportScope: 'AllTasks',
      },
      Priority: 10,
      RoleArn: 'arn:aws:iam::210987654321:role/bucketmove-batch-operations',
      ClientRequestToken: clientRequestToken('prod', manifest),
      Description: 'bucketmove prod: decrypt-copy chatapp-legacy-photos -> acme-chat-photos-prod',
    });
  });

  test('the token is the same for the same manifest and env (a retry returns the same job), and differs otherwise', () => {
    const m = { bucket: 'b', key: 'k.csv', etag: ETAG };
    const t = clientRequestToken('prod', m);
    expect(t).toMatch(/^[0-9a-f]{64}$/);
    expect(clientRequestToken('prod', { ...m })).toBe(t);
    expect(clientRequestToken('prod', { ...m, etag: 'other' })).not.toBe(t);
    expect(clientRequestToken('staging', m)).not.toBe(t);
  });

  test('refused in one line when batchOperations is off, or the target is S3-compatible', () => {
    expect(() => checkBatchWorkspace(prod(() => {}))).toThrow(
      /batchOperations\.enabled is false: set it to true and deploy the primary stack/,
    );
    const local = structuredClone(loadWorkspace('local'));
    local.batchOperations.enabled = true;
    expect(() => checkBatchWorkspace(local)).toThrow(/S3-compatible servers \(Ceph RGW\) do not have/);
  });
});

describe('DescribeJob polling', () => {
  test('the delay grows by 1.5 from 5 s and stops at 60 s', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map((a) => pollDelay(a))).toEqual([5000, 7500, 11250, 16875, 56953, 60000, 60000]);
  });

  test('polls until the job is Complete, sleeping the delays in between', async () => {
    control
      .on(DescribeJobCommand)
      .resolvesOnce({ Job: { JobId: JOB, Status: 'Preparing' } })
      .resolvesOnce({ Job: { JobId: JOB, Status: 'Active' } })
      .resolves({ Job: { JobId: JOB, Status: 'Complete' } });
    const slept: number[] = [];
    const job = await waitForJob(new S3ControlClient({}), '210987654321', JOB, {
      sleep: async (ms) => void slept.push(ms),
    });
    expect(job.Status).toBe('Complete');
    expect(slept).toEqual([5000, 7500]);
    expect(control.commandCalls(DescribeJobCommand).map((c) => c.args[0].input)).toEqual(
      Array(3).fill({ AccountId: '210987654321', JobId: JOB }),
    );
  });

  test('stops at Suspended (the job waits for a person)', async () => {
    control.on(DescribeJobCommand).resolves({ Job: { JobId: JOB, Status: 'Suspended' } });
    expect((await waitForJob(new S3ControlClient({}), 'a', JOB, { sleep: async () => {} })).Status).toBe('Suspended');
  });
});

describe('a whole job: manifest given, job created, waited for, its report read into the summary', () => {
  const ws = prod();
  const result = (o: object) => encodeOutcome(o as never);
  // The report as Batch Operations writes it: HTTP status before the error code, keys URL-encoded, the function's
  // resultString as ResultMessage.
  const succeeded = [
    `chatapp-legacy-photos,chats/1/a%20b.jpg,,succeeded,200,,"${result({ state: 'copied', etag: 'e1', versionId: 'null', plaintextSha256: 'aa'.repeat(32), plaintextSize: 100 }).replace(/"/g, '""')}"`,
    `chatapp-legacy-photos,chats/1/%C3%BC.jpg,,succeeded,200,,"${result({ state: 'copied', etag: 'e2', plaintextSha256: 'bb'.repeat(32), plaintextSize: 50 }).replace(/"/g, '""')}"`,
    `chatapp-legacy-photos,chats/2/app.jpg,,succeeded,200,,"${result({ state: 'kept-app-version', etag: 'e3' }).replace(/"/g, '""')}"`,
  ].join('\n');
  const failed = [
    `chatapp-legacy-photos,chats/3/bad.jpg,,failed,200,PermanentFailure,"${result({ state: 'quarantined', etag: 'e4', errorCode: 'Codec.auth', errorMessage: 'the token failed its HMAC check' }).replace(/"/g, '""')}"`,
    `chatapp-legacy-photos,chats/3/slow.jpg,,failed,200,TemporaryFailure,"Lambda returned function error: {""errorMessage"":""Task timed out after 900.00 seconds""}"`,
  ].join('\n');
  const reportManifest = {
    Format: 'Report_CSV_20180820',
    ReportCreationDate: '2026-11-26T11:00:00.000Z',
    Results: [
      {
        TaskExecutionStatus: 'succeeded',
        Bucket: ws.primary.bucket,
        MD5Checksum: md5(succeeded),
        Key: `bucketmove-batch/reports/job-${JOB}/results/s.csv`,
      },
      {
        TaskExecutionStatus: 'failed',
        Bucket: ws.primary.bucket,
        MD5Checksum: md5(failed),
        Key: `bucketmove-batch/reports/job-${JOB}/results/f.csv`,
      },
    ],
    ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
  };
  const finalJob: JobDescriptor = {
    JobId: JOB,
    Status: 'Complete',
    Operation: { LambdaInvoke: { UserArguments: { env: 'prod' } } },
    ProgressSummary: { TotalNumberOfTasks: 5, NumberOfTasksSucceeded: 3, NumberOfTasksFailed: 2 },
    CreationTime: new Date('2026-11-26T10:00:00Z'),
    TerminationDate: new Date('2026-11-26T10:30:00Z'),
  };

  function options(dir: string, over: Partial<BatchJobOptions> = {}): BatchJobOptions {
    return {
      manifest: `s3://${ws.primary.bucket}/bucketmove-batch/manifests/mine.csv`,
      wait: true,
      checkpoint: (id) => path.join(dir, `batch-job-${id}.sqlite`),
      report: (id) => path.join(dir, `batch-${id}`),
      sleep: async () => {},
      ...over,
    };
  }

  function mockReport(): void {
    s3.on(GetObjectCommand, { Key: `bucketmove-batch/reports/job-${JOB}/manifest.json` }).callsFake(() =>
      getObject(JSON.stringify(reportManifest)),
    );
    s3.on(GetObjectCommand, { Key: reportManifest.Results[0].Key }).callsFake(() => getObject(succeeded));
    s3.on(GetObjectCommand, { Key: reportManifest.Results[1].Key }).callsFake(() => getObject(failed));
  }

  test('CreateJob pinned by the ETag HeadObject gave; the report read: counts, verdict, exit code, report files, checkpoint', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    control.on(CreateJobCommand).resolves({ JobId: JOB });
    control
      .on(DescribeJobCommand)
      .resolvesOnce({ Job: { ...finalJob, Status: 'Active' } })
      .resolves({ Job: finalJob });
    mockReport();
    const dir = tmp();
    const res = await runBatchJob(ws, { control: new S3ControlClient({}), s3: new S3Client({}) }, options(dir));

    const create = control.commandCalls(CreateJobCommand);
    expect(create).toHaveLength(1);
    const manifest = { bucket: ws.primary.bucket, key: 'bucketmove-batch/manifests/mine.csv', etag: ETAG };
    expect(create[0].args[0].input).toEqual(createJobInput(ws, manifest));
    expect(create[0].args[0].input.Manifest!.Location).toEqual({
      ObjectArn: 'arn:aws:s3:::acme-chat-photos-prod/bucketmove-batch/manifests/mine.csv',
      ETag: ETAG,
    });

    expect(res.kind).toBe('finished');
    if (res.kind !== 'finished') return;
    expect(res.rows).toBe(5);
    const t = res.summary.run.totals;
    expect([t.copied.count, t['kept-app-version'].count, t.quarantined.count, t.failed.count, t.pending.count]).toEqual(
      [2, 1, 1, 1, 0],
    );
    expect(res.summary).toMatchObject({
      tool: 'bucketmove batch',
      source: `batch-job:${JOB}`,
      env: 'prod',
      complete: false,
      notMigrated: 2,
      exitCode: 1,
    });
    expect(res.summary.run.seconds).toBe(1800);
    expect(res.summary.run.plaintextBytes).toBe(150);
    expect(res.summary.verdict).toMatch(
      /^migration of prod NOT complete: 2 of 5 objects not migrated \(1 quarantined, 1 failed \(retried next run\)\)/,
    );

    // The CLI's report format: one Report_CSV_20180820 row per key, the quarantined one with the codec's reason.
    const rows = fs.readFileSync(res.files.csv, 'utf8').trim().split('\n').map(parseCsvLine);
    expect(rows.map((r) => [decodeURIComponent(r[1]), r[3], r[4]])).toEqual([
      ['chats/1/a b.jpg', 'succeeded', ''],
      ['chats/1/ü.jpg', 'succeeded', ''],
      ['chats/2/app.jpg', 'succeeded', ''],
      ['chats/3/bad.jpg', 'failed', 'Codec.auth'],
      ['chats/3/slow.jpg', 'failed', 'TemporaryFailure'],
    ]);
    expect(JSON.parse(fs.readFileSync(res.files.json, 'utf8'))).toMatchObject({
      tool: 'bucketmove batch',
      source: `batch-job:${JOB}`,
      exitCode: 1,
    });

    // The checkpoint the audit reads: identity with the job as its source, the copies' hashes, nothing left
    // unrechecked.
    const cp = Checkpoint.openReadOnly(res.summary.checkpoint);
    try {
      expect(cp.identity()).toEqual({
        env: 'prod',
        legacyBucket: 'chatapp-legacy-photos',
        newBucket: 'acme-chat-photos-prod',
        prefix: '',
        source: `batch-job:${JOB}`,
      });
      expect(cp.get('chats/1/a b.jpg')).toMatchObject({
        state: 'copied',
        etag: 'e1',
        plaintextSha256: 'aa'.repeat(32),
        plaintextSize: 100,
        rechecked: true,
      });
      expect(cp.get('chats/3/bad.jpg')).toMatchObject({
        state: 'quarantined',
        errorCode: 'Codec.auth',
        errorMessage: 'the token failed its HMAC check',
      });
      expect(cp.countUnrechecked()).toBe(0);
      expect(cp.listCursor().complete).toBe(true);
      expect(cp.runs()).toEqual([
        expect.objectContaining({ startedAt: '2026-11-26T10:00:00.000Z', outcome: res.summary.verdict }),
      ]);
    } finally {
      cp.close();
    }
  });

  test('an all-succeeded job is complete, exit 0; reading the same job again (--job-id) records the same, idempotently', async () => {
    const ok = { ...reportManifest, Results: [reportManifest.Results[0]] };
    s3.on(GetObjectCommand, { Key: `bucketmove-batch/reports/job-${JOB}/manifest.json` }).callsFake(() =>
      getObject(JSON.stringify(ok)),
    );
    s3.on(GetObjectCommand, { Key: reportManifest.Results[0].Key }).callsFake(() => getObject(succeeded));
    const done = {
      ...finalJob,
      ProgressSummary: { TotalNumberOfTasks: 3, NumberOfTasksSucceeded: 3, NumberOfTasksFailed: 0 },
    };
    control.on(DescribeJobCommand).resolves({ Job: done });
    const dir = tmp();
    for (let i = 0; i < 2; i++) {
      const res = await runBatchJob(
        ws,
        { control: new S3ControlClient({}), s3: new S3Client({}) },
        options(dir, { manifest: undefined, jobId: JOB }),
      );
      if (res.kind !== 'finished') throw new Error(res.kind);
      expect(res.summary).toMatchObject({ complete: true, exitCode: 0, notMigrated: 0 });
      expect(res.summary.verdict).toMatch(
        /^migration of prod complete: 3 legacy objects \(copied 2, kept as the app wrote them 1\)/,
      );
    }
    expect(control.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  test('a job that failed before writing a report: not complete, its failure reasons in the verdict, exit 1', async () => {
    control.on(DescribeJobCommand).resolves({
      Job: {
        ...finalJob,
        Status: 'Failed',
        ProgressSummary: { TotalNumberOfTasks: 0 },
        FailureReasons: [{ FailureCode: 'AccessDenied', FailureReason: 'Reading the manifest is forbidden' }],
      },
    });
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
    );
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: new S3Client({}) },
      options(tmp(), { manifest: undefined, jobId: JOB }),
    );
    if (res.kind !== 'finished') throw new Error(res.kind);
    expect(res.summary).toMatchObject({ complete: false, exitCode: 1 });
    expect(res.summary.verdict).toContain(`job ${JOB} ended Failed (AccessDenied Reading the manifest is forbidden)`);
  });

  test('a report whose file does not match its MD5 is refused', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    control.on(CreateJobCommand).resolves({ JobId: JOB });
    control.on(DescribeJobCommand).resolves({ Job: finalJob });
    mockReport();
    s3.on(GetObjectCommand, { Key: reportManifest.Results[1].Key }).callsFake(() =>
      getObject(failed.replace('slow', 'quick')),
    );
    await expect(
      runBatchJob(ws, { control: new S3ControlClient({}), s3: new S3Client({}) }, options(tmp())),
    ).rejects.toThrow(/MD5 .* differs from the manifest's/);
  });

  test('a job made for another env is refused before its report is read', async () => {
    control
      .on(DescribeJobCommand)
      .resolves({ Job: { ...finalJob, Operation: { LambdaInvoke: { UserArguments: { env: 'staging' } } } } });
    await expect(
      runBatchJob(
        ws,
        { control: new S3ControlClient({}), s3: new S3Client({}) },
        options(tmp(), { manifest: undefined, jobId: JOB }),
      ),
    ).rejects.toThrow(
      'job a1b2c3d4-0000-4000-8000-000000000001 was made for env "staging", not "prod": give --env staging',
    );
  });

  test('--retry-of: a new job over only the keys the first one left failed (and quarantined, when asked)', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    control.on(CreateJobCommand).resolves({ JobId: JOB });
    control.on(DescribeJobCommand).resolves({ Job: finalJob });
    mockReport();
    const dir = tmp();
    const client = new S3Client({ region: 'eu-west-1' });
    expect((await runBatchJob(ws, { control: new S3ControlClient({}), s3: client }, options(dir))).kind).toBe(
      'finished',
    );

    s3.on(PutObjectCommand).resolves({ ETag: '"r"' });
    control.on(CreateJobCommand).resolves({ JobId: 'retry-1' });
    const uploaded = () => String(s3.commandCalls(PutObjectCommand).at(-1)!.args[0].input.Body);
    const retry = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: client },
      options(dir, { manifest: undefined, retryOf: JOB, wait: false }),
    );
    expect(retry).toMatchObject({ kind: 'started', jobId: 'retry-1' });
    expect(s3.commandCalls(PutObjectCommand).at(-1)!.args[0].input.Key).toMatch(
      new RegExp(`^bucketmove-batch/manifests/prod-retry-of-${JOB}-\\d{8}T\\d{6}Z\\.csv$`),
    );
    expect(uploaded()).toBe('chatapp-legacy-photos,chats/3/slow.jpg\n');
    await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: client },
      options(dir, { manifest: undefined, retryOf: JOB, retryQuarantined: true, wait: false }),
    );
    expect(uploaded()).toBe('chatapp-legacy-photos,chats/3/bad.jpg\nchatapp-legacy-photos,chats/3/slow.jpg\n');

    await expect(
      runBatchJob(
        ws,
        { control: new S3ControlClient({}), s3: client },
        options(tmp(), { manifest: undefined, retryOf: JOB, wait: false }),
      ),
    ).rejects.toThrow(
      new RegExp(
        `^no checkpoint of job ${JOB} at .*: read its report first \\(npm run batch -- --env prod --job-id ${JOB}\\) or give its --checkpoint$`,
      ),
    );
  });

  test('without --manifest: the legacy listing becomes a Bucket,Key CSV (keys URL-encoded) under the reports prefix, and the job is pinned to it', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: 'chats/1/a b.jpg', Size: 1, ETag: '"x"' },
          { Key: 'chats/1/ü+1.jpg', Size: 1, ETag: '"y"' },
        ],
        IsTruncated: true,
        NextContinuationToken: 't',
      })
      .resolvesOnce({ Contents: [{ Key: 'chats/2/c,d.jpg', Size: 1, ETag: '"z"' }], IsTruncated: false });
    s3.on(PutObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    control.on(CreateJobCommand).resolves({ JobId: JOB });
    const client = new S3Client({ region: 'eu-west-1' });
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: client, legacy: () => ({ client, bucket: ws.legacy.bucket }) },
      options(tmp(), { manifest: undefined, wait: false }),
    );
    expect(res).toMatchObject({ kind: 'started', jobId: JOB });
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({
      Bucket: 'acme-chat-photos-prod',
      ContentType: 'text/csv',
      ServerSideEncryption: 'aws:kms',
    });
    expect(put.Key).toMatch(/^bucketmove-batch\/manifests\/prod-\d{8}T\d{6}Z\.csv$/);
    const text =
      Buffer.isBuffer(put.Body) || put.Body instanceof Uint8Array
        ? Buffer.from(put.Body as Uint8Array).toString()
        : String(put.Body);
    expect(text).toBe(
      'chatapp-legacy-photos,chats/1/a%20b.jpg\nchatapp-legacy-photos,chats/1/%C3%BC%2B1.jpg\nchatapp-legacy-photos,chats/2/c%2Cd.jpg\n',
    );
    expect(control.commandCalls(CreateJobCommand)[0].args[0].input.Manifest!.Location).toEqual({
      ObjectArn: `arn:aws:s3:::acme-chat-photos-prod/${put.Key}`,
      ETag: ETAG,
    });
  });
});

describe('a job not finished, and Ctrl-C', () => {
  const ws = prod();
  const active: JobDescriptor = {
    JobId: JOB,
    Status: 'Active',
    Operation: { LambdaInvoke: { UserArguments: { env: 'prod' } } },
    ProgressSummary: { TotalNumberOfTasks: 10, NumberOfTasksSucceeded: 4, NumberOfTasksFailed: 0 },
  };
  const options = (over: Partial<BatchJobOptions>): BatchJobOptions => ({
    wait: true,
    checkpoint: (id) => path.join(tmp(), `batch-job-${id}.sqlite`),
    report: (id) => path.join(tmp(), `batch-${id}`),
    sleep: async () => {},
    ...over,
  });

  test('--job-id without waiting, the job still running: "running" (exit 3), no report read', async () => {
    control.on(DescribeJobCommand).resolves({ Job: active });
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: new S3Client({}) },
      options({ jobId: JOB, wait: false }),
    );
    expect(res).toEqual({ kind: 'running', job: active });
    expect(s3.calls()).toHaveLength(0);
  });

  test('interrupted while waiting: the waiting stops at once (no further DescribeJob), the job is not touched', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    control.on(CreateJobCommand).resolves({ JobId: JOB });
    control.on(DescribeJobCommand).resolves({ Job: active });
    const interrupt = new AbortController();
    let sleeps = 0;
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: new S3Client({}) },
      options({
        manifest: `s3://${ws.primary.bucket}/bucketmove-batch/manifests/mine.csv`,
        signal: interrupt.signal,
        // Ctrl-C during the second pause.
        sleep: async () => {
          if (++sleeps === 2) interrupt.abort();
        },
      }),
    );
    expect(res).toMatchObject({ kind: 'interrupted', jobId: JOB });
    expect(sleeps).toBe(2);
    // One DescribeJob before the wait, then one per pause until the abort: 1 + 2.
    expect(control.commandCalls(DescribeJobCommand)).toHaveLength(3);
    expect(control.calls().map((c) => c.args[0].constructor.name)).toEqual([
      'CreateJobCommand',
      'DescribeJobCommand',
      'DescribeJobCommand',
      'DescribeJobCommand',
    ]);
  });

  test('waitForJob: the default pause ends at once on abort (nothing keeps the process up for the rest of it)', async () => {
    control.on(DescribeJobCommand).resolves({ Job: active });
    const interrupt = new AbortController();
    const started = Date.now();
    const waiting = waitForJob(new S3ControlClient({}), 'a', JOB, {
      signal: interrupt.signal,
      poll: { firstMs: 60_000, factor: 1, maxMs: 60_000 },
    });
    setTimeout(() => interrupt.abort(), 50);
    expect((await waiting).Status).toBe('Active');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(control.commandCalls(DescribeJobCommand)).toHaveLength(1);
  });

  test('interrupted while the manifest is written from the listing: the upload is abandoned, no job created', async () => {
    const interrupt = new AbortController();
    s3.on(ListObjectsV2Command).callsFake(() => {
      interrupt.abort(); // Ctrl-C while the first page is listed
      return { Contents: [{ Key: 'a.jpg', Size: 1, ETag: '"x"' }], IsTruncated: true, NextContinuationToken: 't' };
    });
    s3.on(PutObjectCommand).resolves({ ETag: `"${ETAG}"` });
    const client = new S3Client({ region: 'eu-west-1' });
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: client, legacy: () => ({ client, bucket: ws.legacy.bucket }) },
      options({ signal: interrupt.signal }),
    );
    expect(res).toEqual({ kind: 'interrupted' });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(control.calls()).toHaveLength(0);
  });

  test('interrupted once the manifest is written: no job created, the manifest named', async () => {
    const interrupt = new AbortController();
    s3.on(HeadObjectCommand).callsFake(() => {
      interrupt.abort(); // Ctrl-C while the given manifest's ETag is read
      return { ETag: `"${ETAG}"` };
    });
    const res = await runBatchJob(
      ws,
      { control: new S3ControlClient({}), s3: new S3Client({}) },
      options({ manifest: `s3://${ws.primary.bucket}/bucketmove-batch/manifests/mine.csv`, signal: interrupt.signal }),
    );
    expect(res).toEqual({
      kind: 'interrupted',
      manifest: { bucket: ws.primary.bucket, key: 'bucketmove-batch/manifests/mine.csv', etag: ETAG },
    });
    expect(control.calls()).toHaveLength(0);
  });
});

describe('the pure parts', () => {
  test('the 2.0 event as AWS documents it is read; keys decoded as unquote_plus does', () => {
    const inv = parseInvocation({
      invocationSchemaVersion: '2.0',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce', userArguments: { env: 'prod', k2: 'v2' } },
      tasks: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          s3Key: 'chats/a%20b+c%2Bd/%C3%BC.jpg',
          s3VersionId: null,
          s3Bucket: 'chatapp-legacy-photos',
        },
      ],
    });
    expect(inv).toEqual({
      schemaVersion: '2.0',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      jobId: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce',
      userArguments: { env: 'prod', k2: 'v2' },
      tasks: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          bucket: 'chatapp-legacy-photos',
          key: 'chats/a b c+d/ü.jpg',
          versionId: undefined,
        },
      ],
    });
    expect(() => decodeTaskKey('bad%E0%A4%A')).toThrow(/not valid URL encoding/);
    expect(() =>
      parseInvocation({
        invocationSchemaVersion: '2.0',
        invocationId: 'i',
        job: { id: 'j', userArguments: {} },
        tasks: [],
      }),
    ).toThrow(/tasks: /);
  });

  test('resultString: compact JSON, at most 1000 bytes however long the message, and it reads back', () => {
    const o = { state: 'quarantined' as const, etag: 'e', errorCode: 'Codec.format', errorMessage: 'ü'.repeat(2000) };
    const s = encodeOutcome(o);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(RESULT_STRING_MAX_BYTES);
    expect(decodeOutcome(s)).toMatchObject({ state: 'quarantined', etag: 'e', errorCode: 'Codec.format' });
    expect(decodeOutcome(s)!.errorMessage!.endsWith('...')).toBe(true);
    expect(
      encodeOutcome({
        state: 'copied',
        etag: 'e',
        versionId: 'null',
        plaintextSha256: 'a'.repeat(64),
        plaintextSize: 3,
      }),
    ).toBe(`{"state":"copied","etag":"e","versionId":"null","sha256":"${'a'.repeat(64)}","size":3}`);
    expect(decodeOutcome('Lambda returned function error')).toBeUndefined();
    expect(decodeOutcome('{"state":"bogus"}')).toBeUndefined();
  });

  test('report rows in either column order (AWS examples put the status first; the documented schema the code first)', () => {
    expect(completionRow(['b', 'k%20x', '', 'failed', '200', 'PermanentFailure', 'm'], 'f')).toMatchObject({
      key: 'k x',
      errorCode: 'PermanentFailure',
      httpStatus: 200,
    });
    expect(completionRow(['b', 'k', 'v1', 'failed', 'Codec.auth', '403', 'm'], 'f')).toMatchObject({
      versionId: 'v1',
      errorCode: 'Codec.auth',
      httpStatus: 403,
    });
    expect(() => completionRow(['b', 'k', '', 'maybe'], 'f line 3')).toThrow(
      'f line 3: TaskStatus "maybe" is neither succeeded nor failed',
    );
  });

  test("a failed task without the function's result (a timeout) is failed, not quarantined; a success without one is not counted as migrated", () => {
    expect(
      outcomeOfRow({
        bucket: 'b',
        key: 'k',
        taskStatus: 'failed',
        errorCode: 'TemporaryFailure',
        httpStatus: 200,
        resultMessage: 'Task timed out',
      }),
    ).toMatchObject({
      state: 'failed',
      errorCode: 'TemporaryFailure',
    });
    expect(outcomeOfRow({ bucket: 'b', key: 'k', taskStatus: 'succeeded', resultMessage: 'ok' })).toMatchObject({
      state: 'failed',
      errorCode: 'UnreadableResult',
    });
  });
});

describe('the workspace as JSON text (the function reads it from BUCKETMOVE_WORKSPACE)', () => {
  test('validated by the same schema; errors name the variable, in one line', () => {
    const { file: _f, ...plain } = loadWorkspace('prod');
    expect(parseWorkspaceJson(JSON.stringify(plain), 'BUCKETMOVE_WORKSPACE')).toMatchObject({
      env: 'prod',
      primary: { bucket: 'acme-chat-photos-prod' },
    });
    expect(() => parseWorkspaceJson('{"env": "prod"', 'BUCKETMOVE_WORKSPACE')).toThrow(
      /^BUCKETMOVE_WORKSPACE: not valid JSON \(.*\); give the workspace file's content$/,
    );
    expect(() => parseWorkspaceJson(JSON.stringify({ ...plain, region: 'mars' }), 'BUCKETMOVE_WORKSPACE')).toThrow(
      'BUCKETMOVE_WORKSPACE: region: must be an AWS region such as "eu-west-1"',
    );
  });
});
