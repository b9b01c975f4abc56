/**
 * Reading a Batch Operations job's completion report from S3, streamed: the top-level
 * `<prefix>/job-<id>/manifest.json` lists the result files (CSV, Report_CSV_20180820, no header), each read row by row
 * through csv-parse and checked against the MD5 the manifest gives for it.
 *
 * The rows: Bucket, Key (URL-encoded), VersionId, TaskStatus, then the error code and the HTTP status, then
 * ResultMessage (for LambdaInvoke: the function's resultString). AWS's manifest names the middle two
 * "ErrorCode, HTTPStatusCode", while its example rows hold the status first ("failed,200,PermanentFailure,..."), so
 * the numeric one of the two is taken as the status.
 */
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { z } from 'zod';
import { decodeTaskKey } from './invocation';
import { readBounded } from '../read-bounded';

const reportManifestSchema = z.object({
  Format: z.literal('Report_CSV_20180820'),
  ReportCreationDate: z.string().optional(),
  Results: z.array(
    z.object({
      TaskExecutionStatus: z.string(),
      Bucket: z.string().min(1),
      MD5Checksum: z.string().optional(),
      Key: z.string().min(1),
    }),
  ),
  ReportSchema: z.string().optional(),
});

export type ReportManifest = z.output<typeof reportManifestSchema>;

export interface CompletionRow {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly taskStatus: 'succeeded' | 'failed';
  readonly errorCode?: string;
  readonly httpStatus?: number;
  readonly resultMessage: string;
}

/** Where a job's report manifest is: `<prefix>/job-<id>/manifest.json` (the prefix as given to CreateJob). */
export function reportManifestKey(prefix: string, jobId: string): string {
  return `${prefix.replace(/\/+$/, '')}/job-${jobId}/manifest.json`;
}

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export async function readReportManifest(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  key: string,
): Promise<ReportManifest> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const what = `s3://${bucket}/${key}`;
  const text = (
    await readBounded(
      out.Body as Readable,
      MAX_MANIFEST_BYTES,
      () => new Error(`${what} is over ${MAX_MANIFEST_BYTES} bytes: not a completion report manifest`),
    )
  ).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`s3://${bucket}/${key} is not JSON: not a Batch Operations completion report manifest`);
  }
  const parsed = reportManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `s3://${bucket}/${key}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (expected a Report_CSV_20180820 manifest)`,
    );
  }
  return parsed.data;
}

const isStatus = (v: string) => /^\d{3}$/.test(v);

/** One CSV record of a result file as a row. */
export function completionRow(rec: readonly string[], where: string): CompletionRow {
  if (rec.length < 4)
    throw new Error(
      `${where}: a row of ${rec.length} columns; a completion report row has at least Bucket, Key, VersionId, TaskStatus`,
    );
  const [bucket, key, versionId, status, a = '', b = '', ...rest] = rec;
  const taskStatus = status.trim().toLowerCase();
  if (taskStatus !== 'succeeded' && taskStatus !== 'failed')
    throw new Error(`${where}: TaskStatus "${status}" is neither succeeded nor failed`);
  const [code, http] = isStatus(a) && !isStatus(b) ? [b, a] : [a, b];
  return {
    bucket,
    key: decodeTaskKey(key),
    versionId: versionId || undefined,
    taskStatus,
    errorCode: code || undefined,
    httpStatus: isStatus(http) ? Number(http) : undefined,
    // A message with a comma the writer did not quote stays whole.
    resultMessage: rest.join(','),
  };
}

/** Every row of every result file the manifest lists, in order, streamed. */
export async function* completionRows(
  s3: Pick<S3Client, 'send'>,
  manifest: ReportManifest,
): AsyncGenerator<CompletionRow> {
  for (const file of manifest.Results) {
    const where = `s3://${file.Bucket}/${file.Key}`;
    const out = await s3.send(new GetObjectCommand({ Bucket: file.Bucket, Key: file.Key }));
    const body = out.Body as Readable;
    const md5 = createHash('md5');
    body.on('data', (chunk: Buffer) => md5.update(chunk));
    const parser = body.pipe(
      parse({ relax_column_count: true, relax_quotes: true, skip_empty_lines: true, bom: true }),
    );
    body.on('error', (err) => parser.destroy(err));
    let line = 0;
    for await (const rec of parser as AsyncIterable<string[]>) {
      line++;
      yield completionRow(rec, `${where} line ${line}`);
    }
    const digest = md5.digest('hex');
    if (file.MD5Checksum && file.MD5Checksum.toLowerCase() !== digest) {
      throw new Error(
        `${where}: MD5 ${digest} differs from the manifest's ${file.MD5Checksum}: the report file is damaged or was changed`,
      );
    }
  }
}
