/**
 * The backfill as one S3 Batch Operations job, as a library call (cli/batch.ts adds flags and printing): the manifest
 * (written from a listing, or given), the job (CreateJob pinned by the manifest's ETag), the wait (DescribeJob), and
 * the completion report read into the migrator's summary, checkpoint and report files.
 *
 * Only on AWS: S3 Control does not exist on S3-compatible servers (Ceph RGW), and the job needs the function and the
 * roles of the primary stack, deployed when `batchOperations.enabled` is true.
 */
import * as fs from 'fs';
import { NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { JobDescriptor, S3ControlClient } from '@aws-sdk/client-s3-control';
import { displayPath, type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { httpStatusOf } from '../aws/errors';
import { Checkpoint } from '../migrate/checkpoint';
import { completionRows, readReportManifest, reportManifestKey, type CompletionRow } from './completion-report';
import { createJob, createJobInput, jobNames, type ManifestLocation } from './create-job';
import { jobSource, summarizeJob, type JobSummary } from './job-summary';
import { describeJob, describeProgress, isFinished, waitForJob, type WaitOptions, type PollOptions } from './wait-job';
import { parseS3Url } from '../sources/manifest-object';
import { manifestAt, writeManifest, writeRetryManifest, type WrittenManifest } from './write-manifest';

/** Refuses, in one line, a workspace the job cannot run for. */
export function checkBatchWorkspace(ws: LoadedWorkspace): void {
  if (ws.target === 's3-compatible') {
    throw new ConfigError(
      `${displayPath(ws.file)}: target is "s3-compatible": S3 Batch Operations needs AWS's S3 Control API, which S3-compatible servers (Ceph RGW) do not have; use npm run migrate (with --shard i/n for parallel tasks)`,
    );
  }
  if (!ws.batchOperations.enabled) {
    throw new ConfigError(
      `${displayPath(ws.file)}: batchOperations.enabled is false: set it to true and deploy the primary stack (the function and its roles), then retry`,
    );
  }
}

export interface BatchClients {
  readonly control: Pick<S3ControlClient, 'send'>;
  /** The operator's S3 client in the primary account: writes the manifest, reads the report. */
  readonly s3: S3Client;
  /** The legacy side's client, to list the bucket when no manifest is given. */
  readonly legacy?: () => { client: S3Client; bucket: string };
}

export interface BatchJobOptions {
  /** An existing manifest (s3://bucket/key); default: one written from a listing of the legacy bucket. */
  readonly manifest?: string;
  /** Only read this job's report (it must have been made for this env). */
  readonly jobId?: string;
  /** A job whose report was read: a new job over the keys it left failed (and quarantined, with retryQuarantined). */
  readonly retryOf?: string;
  readonly retryQuarantined?: boolean;
  readonly wait: boolean;
  readonly priority?: number;
  /** Only keys under this prefix, when the manifest is written from a listing. */
  readonly prefix?: string;
  readonly checkpoint: (jobId: string) => string;
  readonly report: (jobId: string) => string;
  readonly poll?: PollOptions;
  readonly sleep?: WaitOptions['sleep'];
  readonly note?: (line: string) => void;
  /**
   * Ctrl-C: stops writing the manifest (nothing written, no job created), creates no job after a manifest was written,
   * and stops waiting for a job (which runs on). Reading a finished job's report is not interrupted.
   */
  readonly signal?: AbortSignal;
}

export type BatchJobResult =
  | { readonly kind: 'nothing-to-do'; readonly manifest: ManifestLocation }
  | { readonly kind: 'started'; readonly jobId: string; readonly manifest?: ManifestLocation }
  | { readonly kind: 'suspended'; readonly job: JobDescriptor }
  /** Not finished and not waited for (--job-id without waiting): read its report later. */
  | { readonly kind: 'running'; readonly job: JobDescriptor }
  /** Stopped by `signal`: before any job was created (`jobId` undefined), or while waiting for one, which runs on. */
  | { readonly kind: 'interrupted'; readonly jobId?: string; readonly manifest?: ManifestLocation }
  | ({ readonly kind: 'finished'; readonly job: JobDescriptor } & JobSummary);

export async function runBatchJob(ws: LoadedWorkspace, c: BatchClients, o: BatchJobOptions): Promise<BatchJobResult> {
  checkBatchWorkspace(ws);
  const names = jobNames(ws);
  const note = o.note ?? (() => {});
  let jobId = o.jobId;
  let manifest: ManifestLocation | undefined;
  const interrupted = () => o.signal?.aborted ?? false;
  if (!jobId) {
    try {
      manifest = await jobManifest(ws, c, o, note);
    } catch (err) {
      if (interrupted()) return { kind: 'interrupted' }; // the manifest's writer left nothing behind
      throw err;
    }
    if ('objects' in manifest && manifest.objects === 0) return { kind: 'nothing-to-do', manifest };
    if (interrupted()) return { kind: 'interrupted', manifest };
    jobId = await createJob(c.control, createJobInput(ws, manifest, { priority: o.priority }));
    note(
      `job ${jobId} created (function ${names.functionArn}, report under s3://${ws.primary.bucket}/${names.reportPrefix}/job-${jobId}/)`,
    );
    if (!o.wait) return { kind: 'started', jobId, manifest };
  }
  let job = await describeJob(c.control, names.accountId, jobId);
  const userEnv = job.Operation?.LambdaInvoke?.UserArguments?.env;
  if (userEnv !== undefined && userEnv !== ws.env) {
    throw new ConfigError(`job ${jobId} was made for env "${userEnv}", not "${ws.env}": give --env ${userEnv}`);
  }
  if (o.wait && !interrupted()) {
    job = await waitForJob(c.control, names.accountId, jobId, {
      poll: o.poll,
      sleep: o.sleep,
      signal: o.signal,
      onStatus: (j) => note(describeProgress(j)),
    });
  }
  if (job.Status === 'Suspended') return { kind: 'suspended', job };
  if (!isFinished(job))
    return interrupted() && o.wait ? { kind: 'interrupted', jobId, manifest } : { kind: 'running', job };
  const rows = await reportRows(c.s3, ws.primary.bucket, reportManifestKey(names.reportPrefix, jobId));
  const summary = await summarizeJob(ws, job, rows, { checkpoint: o.checkpoint(jobId), report: o.report(jobId) });
  return { kind: 'finished', job, ...summary };
}

/** The job's manifest: the retry of an earlier job's failures, the one given, or one written from a listing. */
async function jobManifest(
  ws: LoadedWorkspace,
  c: BatchClients,
  o: BatchJobOptions,
  note: (line: string) => void,
): Promise<ManifestLocation | WrittenManifest> {
  if (o.retryOf) {
    const written = await retryManifest(
      ws,
      c.s3,
      o.checkpoint(o.retryOf),
      o.retryOf,
      o.retryQuarantined ?? false,
      o.signal,
    );
    note(
      `manifest: s3://${written.bucket}/${written.key} (${written.objects} keys job ${o.retryOf} left ${o.retryQuarantined ? 'failed or quarantined' : 'failed'}, ETag ${written.etag})`,
    );
    return written;
  }
  if (o.manifest) {
    const given = await manifestAt(c.s3, parseS3Url(o.manifest));
    note(`manifest: s3://${given.bucket}/${given.key} (ETag ${given.etag})`);
    return given;
  }
  if (!c.legacy) throw new Error('no legacy client to list the bucket with');
  const written = await writeManifest(ws, c.legacy(), c.s3, { prefix: o.prefix, signal: o.signal });
  note(`manifest: s3://${written.bucket}/${written.key} (${written.objects} keys, ETag ${written.etag})`);
  return written;
}

async function retryManifest(
  ws: LoadedWorkspace,
  s3: S3Client,
  file: string,
  jobId: string,
  quarantined: boolean,
  signal?: AbortSignal,
) {
  if (!fs.existsSync(file)) {
    throw new ConfigError(
      `no checkpoint of job ${jobId} at ${displayPath(file)}: read its report first (npm run batch -- --env ${ws.env} --job-id ${jobId}) or give its --checkpoint`,
    );
  }
  const checkpoint = Checkpoint.openReadOnly(file);
  try {
    const id = checkpoint.identity();
    if (
      id?.source !== jobSource(jobId) ||
      id.env !== ws.env ||
      id.legacyBucket !== ws.legacy.bucket ||
      id.newBucket !== ws.primary.bucket
    ) {
      throw new ConfigError(
        `checkpoint ${displayPath(file)} is not the one of job ${jobId} in env ${ws.env} (it records ${id?.source ?? 'no job'}, env ${id?.env ?? '?'})`,
      );
    }
    return await writeRetryManifest(ws, s3, checkpoint, { jobId, quarantined, signal });
  } finally {
    checkpoint.close();
  }
}

/** The report's rows; none when the job ended before writing one (it failed before its first task). */
async function reportRows(s3: S3Client, bucket: string, key: string): Promise<AsyncIterable<CompletionRow>> {
  try {
    const manifest = await readReportManifest(s3, bucket, key);
    return completionRows(s3, manifest);
  } catch (err) {
    if (err instanceof NoSuchKey || httpStatusOf(err) === 404) return (async function* () {})();
    throw err;
  }
}
