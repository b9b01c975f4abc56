/**
 * What S3 Batch Operations sends the function and what it expects back (the LambdaInvoke operation).
 *
 * Invocation schema 2.0 (what the jobs of `npm run batch` use, since they pass UserArguments):
 *   { invocationSchemaVersion: "2.0", invocationId, job: { id, userArguments: {k: v} },
 *     tasks: [{ taskId, s3Bucket, s3Key, s3VersionId }] }
 * Schema 1.0 (the default of jobs made elsewhere) names the bucket by ARN (`s3BucketArn`) and has no userArguments.
 * Keys arrive URL-encoded, as the CSV manifest holds them; AWS's own examples decode them with Python's
 * `unquote_plus` ("+" is a space), and so does `decodeTaskKey`.
 *
 * The answer: { invocationSchemaVersion, treatMissingKeysAs, invocationId,
 *   results: [{ taskId, resultCode: Succeeded | TemporaryFailure | PermanentFailure, resultString }] }.
 * Batch Operations retries TemporaryFailure tasks and writes resultString into the completion report's ResultMessage.
 */
import { z } from 'zod';
import { decodeManifestKey } from '../sources/manifest-key';

const task2 = z.object({
  taskId: z.string().min(1),
  s3Bucket: z.string().min(1),
  s3Key: z.string().min(1),
  s3VersionId: z.string().nullish(),
});

const task1 = z.object({
  taskId: z.string().min(1),
  s3BucketArn: z.string().regex(/^arn:[\w-]+:s3:[^:]*:[^:]*:.+$/, 'must be an S3 bucket ARN'),
  s3Key: z.string().min(1),
  s3VersionId: z.string().nullish(),
});

const event2 = z.object({
  invocationSchemaVersion: z.literal('2.0'),
  invocationId: z.string().min(1),
  job: z.object({ id: z.string().min(1), userArguments: z.record(z.string(), z.string()) }),
  tasks: z.array(task2).min(1),
});

const event1 = z.object({
  invocationSchemaVersion: z.literal('1.0'),
  invocationId: z.string().min(1),
  job: z.object({ id: z.string().min(1) }),
  tasks: z.array(task1).min(1),
});

export const RESULT_CODES = ['Succeeded', 'TemporaryFailure', 'PermanentFailure'] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

/** One task, whichever schema it came in: the bucket by name, the key decoded. */
export interface BatchTask {
  readonly taskId: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

export interface BatchInvocation {
  readonly schemaVersion: '1.0' | '2.0';
  readonly invocationId: string;
  readonly jobId: string;
  readonly userArguments: Readonly<Record<string, string>>;
  readonly tasks: readonly BatchTask[];
}

export interface BatchTaskResult {
  readonly taskId: string;
  readonly resultCode: ResultCode;
  readonly resultString: string;
}

export interface BatchResponse {
  readonly invocationSchemaVersion: string;
  readonly treatMissingKeysAs: ResultCode;
  readonly invocationId: string;
  readonly results: readonly BatchTaskResult[];
}

/** Not a Batch Operations invocation this function understands; the message is one line naming the field. */
export class InvalidInvocationError extends Error {
  override readonly name = 'InvalidInvocationError';
}

/** A key as the manifest and the event carry it (URL-encoded) back to the key itself. */
export function decodeTaskKey(encoded: string): string {
  try {
    return decodeManifestKey(encoded);
  } catch {
    throw new InvalidInvocationError(`s3Key "${encoded.slice(0, 100)}" is not valid URL encoding`);
  }
}

/** The bucket name of an S3 bucket ARN (arn:aws:s3:::name). */
function bucketOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/** Validates an event; anything else throws an InvalidInvocationError (Batch Operations then fails its tasks). */
export function parseInvocation(event: unknown): BatchInvocation {
  const version = (event as { invocationSchemaVersion?: unknown } | null)?.invocationSchemaVersion;
  if (version !== '2.0' && version !== '1.0') {
    throw new InvalidInvocationError(
      `not an S3 Batch Operations invocation: invocationSchemaVersion must be "2.0" (or "1.0"), got ${JSON.stringify(version) ?? 'nothing'}`,
    );
  }
  const parsed = (version === '2.0' ? event2 : event1).safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInvocationError(
      `invalid S3 Batch Operations invocation (schema ${version}): ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
  }
  if (parsed.data.invocationSchemaVersion === '2.0') {
    const e = parsed.data;
    return {
      schemaVersion: '2.0',
      invocationId: e.invocationId,
      jobId: e.job.id,
      userArguments: e.job.userArguments,
      tasks: e.tasks.map((t) => ({
        taskId: t.taskId,
        bucket: t.s3Bucket,
        key: decodeTaskKey(t.s3Key),
        versionId: t.s3VersionId ?? undefined,
      })),
    };
  }
  const e = parsed.data;
  return {
    schemaVersion: '1.0',
    invocationId: e.invocationId,
    jobId: e.job.id,
    userArguments: {},
    tasks: e.tasks.map((t) => ({
      taskId: t.taskId,
      bucket: bucketOfArn(t.s3BucketArn),
      key: decodeTaskKey(t.s3Key),
      versionId: t.s3VersionId ?? undefined,
    })),
  };
}
