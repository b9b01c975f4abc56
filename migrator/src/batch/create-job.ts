/**
 * Creating the Batch Operations job (S3 Control CreateJob, in the primary account): LambdaInvoke of the workspace's
 * function with invocation schema 2.0 and UserArguments {env}, over a CSV manifest (Bucket,Key) pinned by its ETag,
 * with a completion report of all tasks under the workspace's reports prefix in the new bucket.
 *
 * The request is idempotent: its ClientRequestToken is derived from the env and the manifest (location and ETag), so
 * creating the job again for the same manifest (a retry, a rerun of the command) returns the job already created
 * instead of starting a second one.
 */
import { createHash } from 'crypto';
import { CreateJobCommand, type CreateJobCommandInput, type S3ControlClient } from '@aws-sdk/client-s3-control';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { bucketArn, iamArn, lambdaFunctionArn, partitionOf } from '../../../workspaces/arns';
import { batchPrefixes } from '../../../workspaces/batch-layout';

export const INVOCATION_SCHEMA_VERSION = '2.0';
export const MANIFEST_FORMAT = 'S3BatchOperations_CSV_20180820';
export const REPORT_FORMAT = 'Report_CSV_20180820';

/** The manifest object the job reads, pinned by the ETag it had when it was written. */
export interface ManifestLocation {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

export interface JobNames {
  readonly accountId: string;
  readonly functionArn: string;
  readonly roleArn: string;
  readonly reportBucketArn: string;
  readonly reportPrefix: string;
}

/** The ARNs and names of the job's parts, from the workspace (the CDKTF primary stack creates them). */
export function jobNames(ws: LoadedWorkspace): JobNames {
  const p = partitionOf(ws.region);
  const account = ws.primary.accountId;
  return {
    accountId: account,
    functionArn: lambdaFunctionArn(p, ws.region, account, ws.batchOperations.functionName),
    roleArn: iamArn(p, account, 'role', ws.batchOperations.operationsRoleName),
    reportBucketArn: bucketArn(p, ws.primary.bucket),
    // Batch Operations writes under `<Prefix>/job-<id>/`: the prefix goes without its closing slash.
    reportPrefix: batchPrefixes(ws).reports.replace(/\/$/, ''),
  };
}

export function objectArn(region: string, bucket: string, key: string): string {
  return `${bucketArn(partitionOf(region), bucket)}/${key}`;
}

/** At most 64 characters (CreateJob's limit): the SHA-256 of what makes the job the same job. */
export function clientRequestToken(env: string, manifest: ManifestLocation): string {
  return createHash('sha256')
    .update(`bucketmove-batch\n${env}\n${manifest.bucket}/${manifest.key}\n${manifest.etag}`)
    .digest('hex');
}

export function createJobInput(
  ws: LoadedWorkspace,
  manifest: ManifestLocation,
  o: { priority?: number } = {},
): CreateJobCommandInput {
  const n = jobNames(ws);
  return {
    AccountId: n.accountId,
    ConfirmationRequired: false,
    Operation: {
      LambdaInvoke: {
        FunctionArn: n.functionArn,
        InvocationSchemaVersion: INVOCATION_SCHEMA_VERSION,
        UserArguments: { env: ws.env },
      },
    },
    Manifest: {
      Spec: { Format: MANIFEST_FORMAT, Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: objectArn(ws.region, manifest.bucket, manifest.key), ETag: manifest.etag },
    },
    Report: {
      Bucket: n.reportBucketArn,
      Prefix: n.reportPrefix,
      Format: REPORT_FORMAT,
      Enabled: true,
      ReportScope: 'AllTasks',
    },
    Priority: o.priority ?? 10,
    RoleArn: n.roleArn,
    ClientRequestToken: clientRequestToken(ws.env, manifest),
    Description: `bucketmove ${ws.env}: decrypt-copy ${ws.legacy.bucket} -> ${ws.primary.bucket}`.slice(0, 256),
  };
}

/** Creates the job; returns its id. */
export async function createJob(client: Pick<S3ControlClient, 'send'>, input: CreateJobCommandInput): Promise<string> {
  const out = await client.send(new CreateJobCommand(input));
  if (!out.JobId) throw new Error('S3 Control CreateJob answered without a JobId');
  return out.JobId;
}
