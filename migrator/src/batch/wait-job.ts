/**
 * Waiting for a Batch Operations job: DescribeJob, again and again with a growing pause (a pure function of the
 * attempt), until the job has ended (Complete, Failed, Cancelled), waits for a person (Suspended), or the waiting is
 * interrupted (the job runs on: waiting is only watching it).
 */
import { setTimeout as delay } from 'timers/promises';
import { DescribeJobCommand, type JobDescriptor, type S3ControlClient } from '@aws-sdk/client-s3-control';

export const FINAL_STATUSES = ['Complete', 'Failed', 'Cancelled'] as const;
/** The job waits for a person (ConfirmationRequired, or a suspension): waiting longer would not end it. */
export const STOPPING_STATUSES = [...FINAL_STATUSES, 'Suspended'] as const;

export interface PollOptions {
  readonly firstMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

export const DEFAULT_POLL: PollOptions = { firstMs: 5_000, factor: 1.5, maxMs: 60_000 };

/** The pause before DescribeJob number `attempt + 1` (attempt counts from 1): firstMs, growing by `factor`, capped. */
export function pollDelay(attempt: number, o: PollOptions = DEFAULT_POLL): number {
  return Math.round(Math.min(o.maxMs, o.firstMs * o.factor ** Math.max(0, attempt - 1)));
}

export async function describeJob(
  client: Pick<S3ControlClient, 'send'>,
  accountId: string,
  jobId: string,
): Promise<JobDescriptor> {
  const out = await client.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
  if (!out.Job) throw new Error(`S3 Control DescribeJob answered nothing for job ${jobId}`);
  return out.Job;
}

export interface WaitOptions {
  readonly poll?: PollOptions;
  /** The pause between two DescribeJob calls; it may end early when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told of every answer (the CLI prints the progress). */
  readonly onStatus?: (job: JobDescriptor) => void;
  /** Stops the waiting (Ctrl-C): the job's last description is returned, whatever its status. */
  readonly signal?: AbortSignal;
}

/** A pause that an abort ends at once (so an interrupted wait does not keep the process up for the rest of it). */
const sleepFor = (ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).catch(() => undefined);

export async function waitForJob(
  client: Pick<S3ControlClient, 'send'>,
  accountId: string,
  jobId: string,
  o: WaitOptions = {},
): Promise<JobDescriptor> {
  for (let attempt = 1; ; attempt++) {
    const job = await describeJob(client, accountId, jobId);
    o.onStatus?.(job);
    if (isStopping(job) || o.signal?.aborted) return job;
    await (o.sleep ?? sleepFor)(pollDelay(attempt, o.poll), o.signal);
    if (o.signal?.aborted) return job;
  }
}

/** Whether the job has ended or waits for a person: waiting longer would not change it. */
export function isStopping(job: JobDescriptor): boolean {
  return (STOPPING_STATUSES as readonly string[]).includes(job.Status ?? '');
}

/** Whether the job has ended (its completion report, if any, is written). */
export function isFinished(job: JobDescriptor): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(job.Status ?? '');
}

/** One line on a job: its status and task counts. */
export function describeProgress(job: JobDescriptor): string {
  const p = job.ProgressSummary;
  const counts = p
    ? `: ${p.NumberOfTasksSucceeded ?? 0} succeeded, ${p.NumberOfTasksFailed ?? 0} failed of ${p.TotalNumberOfTasks ?? '?'} tasks`
    : '';
  return `job ${job.JobId} ${job.Status}${counts}`;
}
