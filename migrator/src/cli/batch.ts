/**
 * npm run batch -- --env <env> [--manifest s3://bucket/key | --retry-of <id>] [--no-wait] [--job-id <id>]
 *
 * The backfill as an S3 Batch Operations job (AWS only, `batchOperations.enabled`): writes a CSV manifest of the
 * legacy bucket into the new bucket (or takes the one given), creates the job that invokes the bucketmove function on
 * every key (pinned by the manifest's ETag), waits for it, and reads its completion report into the same summary,
 * checkpoint and report files as `npm run migrate`. The operator's own AWS credentials (the SDK's default chain, in
 * the primary account) create the job and read the report; the legacy bucket is listed through the reader role.
 *
 * Exit codes as migrate's: 0 all migrated or legitimately kept; 1 tasks failed or quarantined, or the job failed;
 * 2 bad input; 3 the job was created but not waited for, is still running (--job-id --no-wait), or is suspended;
 * 130 interrupted: while the manifest was written (nothing written, no job created) or while waiting for the job,
 * which runs on (Ctrl-C stops the watching, not the job; the last lines say how to read its report or cancel it).
 */
import * as path from 'path';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace } from '../../../workspaces/load';
import { clientConfig, createS3Client, createSideClient } from '../aws/clients';
import { nameOperations } from '../aws/errors';
import { jobNames } from '../batch/create-job';
import { runBatchJob } from '../batch/run-job';
import { describeProgress } from '../batch/wait-job';
import { fileStamp } from '../report/files';
import { reportsDir, stateDir } from '../state-paths';
import { checkS3Url, checkWhole, EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run batch --')
      .usage(
        '$0 --env <env> [options]\n\nRuns the backfill as an S3 Batch Operations job that invokes the bucketmove function on every legacy key (AWS only; batchOperations.enabled in the workspace).',
      )
      .option('env', { type: 'string', demandOption: true, describe: 'Workspace (a file in workspaces/, e.g. prod)' })
      .option('manifest', {
        type: 'string',
        describe:
          'An existing Batch Operations CSV manifest (Bucket,Key), s3://bucket/key [default: write one from a listing of the legacy bucket]',
      })
      .option('prefix', {
        type: 'string',
        describe: 'Only keys under this prefix, when the manifest is written from a listing',
      })
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'Wait for the job and read its completion report (--no-wait: create it and exit 3)',
      })
      .option('job-id', {
        type: 'string',
        describe: 'Create nothing: wait for this job (unless --no-wait) and read its completion report',
      })
      .option('retry-of', {
        type: 'string',
        describe: 'A job whose report was read: create a new job over only the keys it left failed',
      })
      .option('retry-quarantined', {
        type: 'boolean',
        default: false,
        describe: 'With --retry-of: its quarantined keys too (after fixing keys or permissions)',
      })
      .option('priority', {
        type: 'number',
        default: 10,
        describe: "The job's priority (higher runs first among the account's jobs)",
      })
      .option('checkpoint', {
        type: 'string',
        describe:
          "SQLite checkpoint the job's report is recorded into (with --retry-of: the retried job's) [default: .bucketmove/<env>/batch-job-<id>.sqlite]",
      })
      .option('report', {
        type: 'string',
        describe: 'Report path without extension [default: .bucketmove/<env>/reports/batch-<id>-<time>]',
      })
      .check((a) => {
        checkWhole('priority', a.priority, 0, 2147483647);
        checkS3Url('manifest', a.manifest);
        if (a['job-id'] !== undefined && (a.manifest !== undefined || a.prefix !== undefined))
          throw new UsageError('--job-id reads an existing job: give it without --manifest and --prefix');
        if (a.manifest !== undefined && a.prefix !== undefined)
          throw new UsageError('--prefix applies to a manifest written from a listing: give it without --manifest');
        if (
          a['retry-of'] !== undefined &&
          (a.manifest !== undefined || a.prefix !== undefined || a['job-id'] !== undefined)
        ) {
          throw new UsageError(
            "--retry-of makes its manifest from that job's failed keys: give it without --manifest, --prefix and --job-id",
          );
        }
        if (a['retry-quarantined'] && a['retry-of'] === undefined)
          throw new UsageError('--retry-quarantined goes with --retry-of <job-id>');
        return true;
      }),
    {
      0: 'every key migrated or legitimately kept',
      1: 'tasks failed or quarantined, or the job failed',
      3: 'the job is not finished (created with --no-wait, still running with --job-id, or suspended): read its report later with --job-id',
      130: 'interrupted: while writing the manifest (no job created), or while waiting (the job runs on; read its report later with --job-id)',
    },
  );
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const ws = loadWorkspace(args.env);
  const credentials = fromNodeProviderChain();
  const { requestHandler, retryStrategy } = clientConfig({ region: ws.region, s3Compatible: false });
  const control = nameOperations(
    new S3ControlClient({ region: ws.region, requestHandler, retryStrategy, credentials }),
  );
  const s3 = createS3Client({ region: ws.region, s3Compatible: false, credentials });
  let legacy: ReturnType<typeof createSideClient> | undefined;
  const stamp = fileStamp();
  const note = (line: string) => process.stderr.write(`${line}\n`);
  const later = (id: string) => `npm run batch -- --env ${ws.env} --job-id ${id}`;
  // Ctrl-C (or SIGTERM): stop writing the manifest, or stop watching the job (which runs on); a second one: at once.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
    note('stopping (press Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const res = await runBatchJob(
      ws,
      {
        control,
        s3,
        legacy: () => {
          legacy ??= createSideClient(ws, 'legacy');
          return { client: legacy.s3, bucket: legacy.bucket };
        },
      },
      {
        manifest: args.manifest,
        prefix: args.prefix,
        jobId: args['job-id'],
        retryOf: args['retry-of'],
        retryQuarantined: args['retry-quarantined'],
        wait: args.wait,
        priority: args.priority,
        // --checkpoint names the job's checkpoint; with --retry-of, the retried job's (the new job gets the default).
        checkpoint: (id) => {
          const given = args['retry-of'] === undefined || id === args['retry-of'] ? args.checkpoint : undefined;
          return given ?? path.join(stateDir(ws.env), `batch-job-${id}.sqlite`);
        },
        report: (id) => args.report ?? path.join(reportsDir(ws.env), `batch-${id}-${stamp}`),
        note,
        signal: interrupt.signal,
      },
    );
    switch (res.kind) {
      case 'nothing-to-do':
        process.stdout.write(
          args['retry-of']
            ? `job ${args['retry-of']} left no keys to retry: no job created\n`
            : `the legacy bucket lists no keys${args.prefix ? ` under "${args.prefix}"` : ''}: no job created\n`,
        );
        return EXIT.ok;
      case 'started':
        process.stdout.write(`job ${res.jobId} created; read its report later with: ${later(res.jobId)}\n`);
        return EXIT.incomplete;
      case 'running':
        process.stdout.write(
          `${describeProgress(res.job)}: not finished; read its report once it is with: ${later(res.job.JobId ?? args['job-id']!)}\n`,
        );
        return EXIT.incomplete;
      case 'interrupted':
        if (!res.jobId) {
          const kept = res.manifest
            ? `; the manifest s3://${res.manifest.bucket}/${res.manifest.key} stays (a later run writes another)`
            : '; nothing was written';
          process.stdout.write(`interrupted: no job created${kept}\n`);
        } else {
          process.stdout.write(
            `interrupted: job ${res.jobId} runs on (stopping this command does not stop it); read its report later with: ${later(res.jobId)}\n` +
              `to stop the job: aws s3control update-job-status --account-id ${jobNames(ws).accountId} --job-id ${res.jobId} --requested-job-status Cancelled\n`,
          );
        }
        return EXIT.interrupted;
      case 'suspended':
        process.stdout.write(
          `job ${res.job.JobId} is suspended (${res.job.SuspendedCause ?? res.job.StatusUpdateReason ?? 'waiting for a person'}): resume or cancel it with aws s3control update-job-status\n`,
        );
        return EXIT.incomplete;
    }
    process.stdout.write(
      `${res.summary.verdict}\nreport: ${res.files.csv} and ${res.files.json}\ncheckpoint: ${res.summary.checkpoint}\n`,
    );
    return res.summary.exitCode;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    control.destroy();
    s3.destroy();
    legacy?.destroy();
  }
}

if (isEntry(module)) runCli('batch', main);
