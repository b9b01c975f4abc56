/**
 * A Batch Operations job played on the RGW, every part real but S3 Control (which RGW does not have): the manifest
 * written from a listing of the legacy bucket into the new one; its rows read back as Batch Operations reads them and
 * handed to the function, one task per invocation, the keys exactly as the manifest holds them; the function's
 * answers written as a completion report (manifest.json + result CSV, as AWS lays them out) into the new bucket; that
 * report read back into the checkpoint and summary of `npm run batch`; and the audit run on that checkpoint.
 */
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { JobDescriptor } from '@aws-sdk/client-s3-control';
import { parse } from 'csv-parse/sync';
import { completionRows, readReportManifest, reportManifestKey } from '../../migrator/src/batch/completion-report';
import { jobNames } from '../../migrator/src/batch/create-job';
import { createBatchHandler } from '../../migrator/src/batch/handler';
import { WORKSPACE_ENV_VAR } from '../../workspaces/batch-layout';
import { summarizeJob } from '../../migrator/src/batch/job-summary';
import { writeManifest } from '../../migrator/src/batch/write-manifest';
import { createLogger } from '../../migrator/src/log';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { collect } from '../helpers/streams';
import { runningAppHeartbeats } from '../helpers/heartbeats';
import { tmpDirPerFile } from '../helpers/tmp';
import * as fs from 'fs';
import * as path from 'path';
import { auditMigration } from './helpers/audit';
import { dropMigration, freshMigration, seed, type TestMigration } from './helpers/own-buckets';

jest.setTimeout(120_000);
const tmp = tmpDirPerFile('bm-batch-job-');
const JOB = '5f0c9c9e-7a51-4d6b-9e0e-3d2a8f6b1c42';
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

describe('a Batch Operations job on the RGW (S3 Control aside)', () => {
  let m: TestMigration;
  let dir: string;
  const appKey = 'chats/app-wrote-this.jpg';
  let expected: Map<string, string>;
  let manifestKey: string;
  let results: { bucket: string; key: string; code: string; resultString: string }[];
  let jobCreated: Date;

  beforeAll(async () => {
    dir = tmp();
    m = await freshMigration('batchjob', dir);
    m.ws.batchOperations.enabled = true;
    const planned = planObjects({
      count: 12,
      size: parseSizeSpec('1KiB-32KiB'),
      oddKeys: true,
      seed: 'batchjob',
      prefix: 'chats/',
    });
    await seed(m, planned, 'batchjob');
    expected = new Map(planned.map((o) => [o.key, o.key]));
    await m.primary.s3.send(
      new PutObjectCommand({
        Bucket: m.primary.bucket,
        Key: appKey,
        Body: Buffer.from('the app wrote this'),
        ContentType: 'image/jpeg',
      }),
    );
    await m.legacy.s3.send(
      new PutObjectCommand({
        Bucket: m.legacy.bucket,
        Key: appKey,
        Body: m.codec.encrypt(Buffer.from('old'), { key: appKey }),
      }),
    );
  });

  afterAll(async () => {
    if (m) await dropMigration(m);
  });

  test('the manifest: one Bucket,Key row per legacy key, keys URL-encoded, in the new bucket under the reports prefix', async () => {
    // The job is created right after its manifest is written: legacy writes after that line are the audit's concern.
    jobCreated = new Date();
    const written = await writeManifest(m.ws, { client: m.legacy.s3, bucket: m.legacy.bucket }, m.primary.s3);
    manifestKey = written.key;
    expect(written.key.startsWith('bucketmove-batch/manifests/local-')).toBe(true);
    expect(written.objects).toBe(expected.size + 1);
    expect(written.etag).toMatch(/^[0-9a-f]{32}(-\d+)?$/);
  });

  test('each manifest row, as Batch Operations hands it to the function (one task per invocation), is copied', async () => {
    const out = await m.primary.s3.send(new GetObjectCommand({ Bucket: m.primary.bucket, Key: manifestKey }));
    const rows = parse((await collect(out.Body as Readable)).data.toString('utf8')) as string[][];
    expect(rows.every((r) => r.length === 2 && r[0] === m.ws.legacy.bucket)).toBe(true);
    const { file: _file, ...plain } = m.ws;
    const fn = createBatchHandler({
      env: { [WORKSPACE_ENV_VAR]: JSON.stringify(plain), LEGACY_FERNET_KEYS: m.keys.join(',') },
      clients: { env: m.env },
      log: createLogger({ name: 'test', level: 'silent' }),
    });
    results = [];
    for (const [i, [bucket, encodedKey]] of rows.entries()) {
      const res = await fn(
        {
          invocationSchemaVersion: '2.0',
          invocationId: `inv-${i}`,
          job: { id: JOB, userArguments: { env: m.ws.env } },
          tasks: [{ taskId: `task-${i}`, s3Bucket: bucket, s3Key: encodedKey, s3VersionId: null }],
        },
        { getRemainingTimeInMillis: () => 900_000 },
      );
      results.push({
        bucket,
        key: encodedKey,
        code: res.results[0].resultCode,
        resultString: res.results[0].resultString,
      });
    }
    expect(results.map((r) => r.code)).toEqual(rows.map(() => 'Succeeded'));
    const head = await m.primary.s3.send(new GetObjectCommand({ Bucket: m.primary.bucket, Key: planned0() }));
    expect(head.Metadata?.[PROVENANCE.sourceEtag]).toMatch(/^[0-9a-f]{32}$/);
  });

  const planned0 = () => [...expected.keys()].find((k) => k.includes('holiday')) ?? [...expected.keys()][0];

  test('the completion report, laid out as AWS writes it, reads back into the summary and checkpoint of npm run batch', async () => {
    const prefix = jobNames(m.ws).reportPrefix;
    // AWS writes succeeded and failed tasks into separate files; this job has only successes.
    const csv = results
      .map((r) => [r.bucket, r.key, '', 'succeeded', '200', '', r.resultString].map(csvField).join(','))
      .join('\n');
    const resultKey = `${prefix}/job-${JOB}/results/${createHash('sha1').update(csv).digest('hex')}.csv`;
    await m.primary.s3.send(new PutObjectCommand({ Bucket: m.primary.bucket, Key: resultKey, Body: csv }));
    const manifest = {
      Format: 'Report_CSV_20180820',
      ReportCreationDate: new Date().toISOString(),
      Results: [
        {
          TaskExecutionStatus: 'succeeded',
          Bucket: m.primary.bucket,
          MD5Checksum: createHash('md5').update(csv).digest('hex'),
          Key: resultKey,
        },
      ],
      ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    };
    await m.primary.s3.send(
      new PutObjectCommand({
        Bucket: m.primary.bucket,
        Key: reportManifestKey(prefix, JOB),
        Body: JSON.stringify(manifest),
      }),
    );

    const job: JobDescriptor = {
      JobId: JOB,
      Status: 'Complete',
      ProgressSummary: {
        TotalNumberOfTasks: results.length,
        NumberOfTasksSucceeded: results.length,
        NumberOfTasksFailed: 0,
      },
      CreationTime: jobCreated,
      TerminationDate: new Date(),
    };
    const read = await readReportManifest(m.primary.s3, m.primary.bucket, reportManifestKey(prefix, JOB));
    const { summary, files } = await summarizeJob(m.ws, job, completionRows(m.primary.s3, read), {
      checkpoint: m.checkpointFile,
      report: path.join(dir, 'batch-report'),
    });
    expect(summary).toMatchObject({
      tool: 'bucketmove batch',
      source: `batch-job:${JOB}`,
      complete: true,
      exitCode: 0,
      notMigrated: 0,
    });
    expect(summary.run.totals.copied.count).toBe(expected.size);
    expect(summary.run.totals['kept-app-version'].count).toBe(1);
    expect(fs.readFileSync(files.csv, 'utf8').trim().split('\n')).toHaveLength(expected.size + 1);
  });

  test("the audit reads that checkpoint like any run's and passes", async () => {
    const logFile = path.join(dir, 'no-fallback.log');
    fs.writeFileSync(logFile, runningAppHeartbeats()); // the app ran all week without a fallback hit
    const report = await auditMigration(m, logFile, { deep: true });
    expect(report.problems.listed).toEqual([]);
    expect(report.passed).toBe(true);
  });
});
