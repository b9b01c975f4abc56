/**
 * A finished Batch Operations job as a migration run: every row of its completion report recorded into a checkpoint
 * of its own (identity source "batch-job:<id>"), then the same summary and the same report files as `npm run migrate`
 * (summarize + writeMigrationReport), so the audit reads it like any run's checkpoint.
 *
 * A row's outcome is the function's own (its resultString, result-string.ts). A failed task without one (the function
 * timed out or crashed, Lambda throttled it) is `failed`: not the object's fault, the next job tries it again. A
 * succeeded task without one is `failed` too: nothing says what was written, so it is not counted as migrated.
 */
import type { JobDescriptor } from '@aws-sdk/client-s3-control';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { Checkpoint } from '../migrate/checkpoint';
import { DONE_STATES, NEEDS_RECHECK, zeroCounts } from '../objects/object-states';
import { type Outcome } from '../objects/records';
import { summarize } from '../migrate/migrate-workspace';
import { writeMigrationReport, type MigrationSummary } from '../migrate/report';
import type { RunResult } from '../migrate/run';
import type { CompletionRow } from './completion-report';
import { decodeOutcome } from './result-string';

export const jobSource = (jobId: string): string => `batch-job:${jobId}`;

function oneLine(s: string, max = 300): string {
  const line = s.split('\n')[0].trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

export function outcomeOfRow(r: CompletionRow): Outcome {
  const own = decodeOutcome(r.resultMessage);
  if (r.taskStatus === 'succeeded') {
    if (own && DONE_STATES.includes(own.state)) return own;
    return {
      state: 'failed',
      errorCode: 'UnreadableResult',
      errorMessage: `the task succeeded, but its result is not this function's: ${oneLine(r.resultMessage) || '(empty)'}`,
    };
  }
  if (own && (own.state === 'quarantined' || own.state === 'failed')) return own;
  return {
    state: 'failed',
    errorCode: r.errorCode ?? 'TaskFailed',
    errorMessage: oneLine(r.resultMessage) || 'the task failed without a message',
    httpStatus: r.httpStatus ?? null,
  };
}

export interface JobSummaryOptions {
  readonly checkpoint: string;
  /** Report path without extension. */
  readonly report: string;
}

export interface JobSummary {
  readonly summary: MigrationSummary;
  readonly files: { csv: string; json: string };
  readonly rows: number;
}

const BATCH = 500;

export async function summarizeJob(
  ws: LoadedWorkspace,
  job: JobDescriptor,
  rows: AsyncIterable<CompletionRow>,
  o: JobSummaryOptions,
): Promise<JobSummary> {
  const jobId = job.JobId ?? 'unknown';
  const source = jobSource(jobId);
  const checkpoint = Checkpoint.open(o.checkpoint, {
    env: ws.env,
    legacyBucket: ws.legacy.bucket,
    newBucket: ws.primary.bucket,
    prefix: '',
    source,
  });
  try {
    const processed = zeroCounts();
    let plaintextBytes = 0;
    let count = 0;
    let pending: { key: string; outcome: Outcome }[] = [];
    const flush = () => {
      // The report gives no stored sizes: rows are recorded with size 0.
      checkpoint.addListedPage(
        pending.map((p) => ({ key: p.key, size: 0, etag: p.outcome.etag ?? '' })),
        false,
      );
      for (const p of pending) {
        checkpoint.record(p.key, { errorCode: null, errorMessage: null, httpStatus: null, ...p.outcome });
        // The function rechecked each copy against the app's deletes right after writing it.
        if (NEEDS_RECHECK.includes(p.outcome.state)) checkpoint.markRechecked(p.key);
      }
      pending = [];
    };
    for await (const row of rows) {
      if (row.bucket !== ws.legacy.bucket) {
        throw new Error(
          `the completion report names bucket "${row.bucket}", not the workspace's legacy bucket "${ws.legacy.bucket}": it is not a report of this env's job`,
        );
      }
      const outcome = outcomeOfRow(row);
      processed[outcome.state]++;
      if (DONE_STATES.includes(outcome.state)) plaintextBytes += outcome.plaintextSize ?? 0;
      pending.push({ key: row.key, outcome });
      count++;
      if (pending.length >= BATCH) flush();
    }
    flush();

    const total = job.ProgressSummary?.TotalNumberOfTasks;
    const complete = job.Status === 'Complete' && (total === undefined || count >= total);
    if (complete) checkpoint.addListedPage([], true);
    const reasons = (job.FailureReasons ?? [])
      .map((f) => `${f.FailureCode ?? ''} ${f.FailureReason ?? ''}`.trim())
      .filter(Boolean);
    const listingError =
      job.Status !== 'Complete'
        ? `job ${jobId} ended ${job.Status ?? 'without a status'}${reasons.length ? ` (${reasons.join('; ')})` : ''}`
        : total !== undefined && count < total
          ? `the completion report holds ${count} of the job's ${total} tasks`
          : undefined;
    const started = job.CreationTime ?? new Date();
    const finished = job.TerminationDate ?? new Date();
    const run: RunResult = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: Math.max(0, (finished.getTime() - started.getTime()) / 1000),
      processed,
      storedBytes: 0,
      plaintextBytes,
      retries: 0,
      throttles: 0,
      interrupted: false,
      listingComplete: complete,
      listingError,
      unrechecked: checkpoint.countUnrechecked(),
      totals: checkpoint.counts(),
    };
    const summary = summarize(ws, '', checkpoint.file, run, { tool: 'bucketmove batch', source });
    // The run began when the job was created: the audit flags legacy writes after that line.
    const runId = checkpoint.startRun(run.startedAt);
    checkpoint.finishRun(runId, summary.verdict, summary);
    const files = writeMigrationReport(o.report, checkpoint, summary);
    return { summary, files, rows: count };
  } finally {
    checkpoint.close();
  }
}
