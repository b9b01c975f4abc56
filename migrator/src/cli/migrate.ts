/**
 * npm run migrate -- --env <env> [flags]
 *
 * The backfill: decrypt-copies every legacy object into the new bucket, resumably, never overwriting.
 * Exit codes: 0 all migrated or legitimately kept; 1 objects quarantined or failed; 2 bad input (nothing written);
 * 3 stopped with objects still pending (--limit); 130 interrupted (Ctrl-C).
 */
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace, type LoadedWorkspace } from '../../../workspaces/load';
import { createClients, preflight } from '../aws/clients';
import { loadCodec } from '../codec';
import { createLogger } from '../log';
import { Checkpoint, type ObjectState } from '../migrate/checkpoint';
import { dryRun } from '../migrate/dry-run';
import { MigrateProgress, formatBytes } from '../migrate/progress';
import { writeMigrationReport, type MigrationSummary } from '../migrate/report';
import { MigrationRun, type RunResult } from '../migrate/run';
import { attachUploadLedger } from '../migrate/upload-ledger';
import { sseParams, type Target } from '../migrate/write-new';
import { fileStamp, writeFileAtomic } from '../report/files';
import { EXIT, runCli, UsageError } from './run-cli';

const MIB = 1024 * 1024;

export function parseArgs(argv: string[]) {
  return yargs(argv)
    .scriptName('npm run migrate --')
    .usage('$0 --env <env> [options]\n\nDecrypt-copies every legacy object into the new bucket (the backfill phase). Resumable: rerun the same command after a crash or Ctrl-C.')
    .option('env', { type: 'string', demandOption: true, describe: 'Workspace to migrate (a file in workspaces/, e.g. prod)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'List the legacy bucket and report what would be done; write nothing (no copies, no checkpoint)' })
    .option('concurrency', { type: 'number', default: 16, describe: 'Objects copied at once (the run lowers it while S3 answers 503 SlowDown)' })
    .option('prefix', { type: 'string', default: '', describe: 'Only keys under this prefix (e.g. chats/42/)' })
    .option('limit', { type: 'number', describe: 'Process at most this many objects in this run (exit 3 if more remain)' })
    .option('checkpoint', { type: 'string', describe: 'SQLite checkpoint file [default: .bucketmove/<env>/checkpoint.sqlite]' })
    .option('report', { type: 'string', describe: 'Report path without extension; writes <path>.csv (S3 Batch Operations Report_CSV_20180820) and <path>.json [default: .bucketmove/<env>/reports/migrate-<time>]' })
    .option('retry-quarantined', { type: 'boolean', default: false, describe: 'Try quarantined objects again (after fixing keys or permissions)' })
    .option('relist', { type: 'boolean', default: false, describe: 'List the legacy bucket again from the start (picks up keys added since the listing finished)' })
    .option('part-size', { type: 'number', default: 8, describe: 'MiB; objects above it are copied multipart in parts of this size' })
    .option('memory', { type: 'number', default: 128, describe: 'MiB of object data held in memory at once, across all objects in flight' })
    .option('max-attempts', { type: 'number', default: 5, describe: 'Attempts per object in one run for temporary failures (throttling, 5xx, timeouts)' })
    .option('progress', { choices: ['auto', 'bar', 'log'] as const, default: 'auto' as const, describe: 'A bar (terminal) or JSON progress lines' })
    .check((a) => {
      const positive = (name: string, v: number | undefined, min = 1) => {
        if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new UsageError(`--${name} must be a whole number of at least ${min} (got ${v})`);
      };
      positive('concurrency', a.concurrency);
      positive('limit', a.limit);
      positive('part-size', a['part-size'], 5);
      positive('memory', a.memory, 16);
      positive('max-attempts', a['max-attempts']);
      if (a.concurrency > 256) throw new UsageError(`--concurrency must be at most 256 (got ${a.concurrency})`);
      if (a['part-size'] > 5120) throw new UsageError('--part-size must be at most 5120 MiB (S3 limit)');
      return true;
    })
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err instanceof UsageError ? err : new UsageError(`${msg ?? err?.message}; see --help`);
    })
    .parseSync();
}

type Args = ReturnType<typeof parseArgs>;

function defaultPaths(ws: LoadedWorkspace, args: Args) {
  const dir = path.join('.bucketmove', ws.env);
  return {
    checkpoint: args.checkpoint ?? path.join(dir, 'checkpoint.sqlite'),
    report: args.report ?? path.join(dir, 'reports', `migrate-${fileStamp()}`),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const ws = loadWorkspace(args.env);
  const codec = await loadCodec(ws);
  const clients = createClients(ws);
  const tty = args.progress === 'bar' || (args.progress === 'auto' && Boolean(process.stderr.isTTY));
  const log = createLogger({ name: 'bucketmove-migrate', level: tty ? 'warn' : undefined });
  try {
    await preflight(clients.legacy);
    await preflight(clients.primary);
    const source = { client: clients.legacy.s3, bucket: clients.legacy.bucket };
    const target: Target = {
      client: clients.primary.s3,
      bucket: clients.primary.bucket,
      sse: sseParams(ws.primary.encryption),
      partSize: args['part-size'] * MIB,
      queueSize: 4,
    };
    const paths = defaultPaths(ws, args);
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    if (args['dry-run']) {
      const res = await dryRun(source, target, {
        prefix: args.prefix,
        limit: args.limit,
        concurrency: args.concurrency,
        reportCsv: args.report ? `${args.report}.csv` : undefined,
        signal: interrupt.signal,
      });
      if (args.report) writeFileAtomic(`${args.report}.json`, `${JSON.stringify({ tool: 'bucketmove migrate --dry-run', env: ws.env, prefix: args.prefix, ...res }, null, 2)}\n`);
      process.stdout.write(
        `dry run (${ws.env}): ${res.listed} legacy objects (${formatBytes(res.listedBytes)}): ${res.wouldCopy} to copy, ${res.alreadyMigrated} already migrated, ${res.appVersionKept} kept as the app wrote them, ${res.errors} unchecked${args.report ? `; report: ${args.report}.csv` : ''}\n`,
      );
      return interrupt.signal.aborted ? EXIT.interrupted : res.errors ? EXIT.failed : EXIT.ok;
    }

    const checkpoint = Checkpoint.open(paths.checkpoint, { env: ws.env, legacyBucket: ws.legacy.bucket, newBucket: ws.primary.bucket, prefix: args.prefix });
    try {
      attachUploadLedger(target.client, checkpoint);
      const before = checkpoint.counts();
      const known = Object.values(before).reduce((n, c) => n + c.count, 0);
      const progress = new MigrateProgress({ log, knownTotal: known, alreadyDone: known - before.pending.count - before.failed.count - (args['retry-quarantined'] ? before.quarantined.count : 0), tty });
      const run = new MigrationRun(
        { source, target, codec, checkpoint, events: progress },
        {
          concurrency: args.concurrency,
          prefix: args.prefix,
          limit: args.limit,
          maxAttempts: args['max-attempts'],
          retryQuarantined: args['retry-quarantined'],
          relist: args.relist,
          memoryBytes: args.memory * MIB,
        },
      );
      let signals = 0;
      const stopOnSignal = () => {
        signals++;
        run.interruptedByUser = true;
        if (signals === 1) {
          run.stop();
          progress.note('warn', { event: 'stopping' }, 'stopping: finishing the objects in flight (press Ctrl-C again to abort them)');
          process.once('SIGINT', stopOnSignal);
          process.once('SIGTERM', stopOnSignal);
        } else {
          run.abort();
          progress.note('warn', { event: 'aborting' }, 'aborting the objects in flight (their keys stay pending)');
        }
      };
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.once('SIGINT', stopOnSignal);
      process.once('SIGTERM', stopOnSignal);
      const runId = checkpoint.startRun();
      progress.start();
      let result: RunResult;
      try {
        result = await run.run();
      } finally {
        progress.stop();
      }
      const summary = summarize(ws, args, checkpoint.file, result);
      checkpoint.finishRun(runId, summary.verdict, summary);
      const files = writeMigrationReport(paths.report, checkpoint, summary);
      log.info({ event: 'migration-finished', ...summary.run.totals, exitCode: summary.exitCode, report: files.csv }, summary.verdict);
      process.stdout.write(`${summary.verdict}\nreport: ${files.csv} and ${files.json}\ncheckpoint: ${checkpoint.file}\n`);
      return summary.exitCode;
    } finally {
      checkpoint.close();
    }
  } finally {
    clients.legacy.destroy();
    clients.primary.destroy();
  }
}

function summarize(ws: LoadedWorkspace, args: Args, checkpointFile: string, run: RunResult): MigrationSummary {
  const t = run.totals;
  const ok = (s: ObjectState) => t[s].count;
  const notMigrated = ok('quarantined') + ok('failed') + ok('pending');
  const complete = notMigrated === 0 && run.listingComplete;
  const exitCode = run.interrupted
    ? EXIT.interrupted
    : ok('quarantined') + ok('failed') > 0 || run.listingError
      ? EXIT.failed
      : complete
        ? EXIT.ok
        : EXIT.incomplete;
  const all = Object.values(t).reduce((n, c) => n + c.count, 0);
  const parts = [
    `copied ${ok('copied')}`,
    ok('already-migrated') && `already migrated ${ok('already-migrated')}`,
    ok('kept-app-version') && `kept as the app wrote them ${ok('kept-app-version')}`,
    ok('vanished') + ok('deleted-during-copy') && `deleted by the app ${ok('vanished') + ok('deleted-during-copy')}`,
  ].filter(Boolean);
  const problems = [
    ok('quarantined') && `${ok('quarantined')} quarantined`,
    ok('failed') && `${ok('failed')} failed (retried next run)`,
    ok('pending') && `${ok('pending')} not attempted yet`,
    !run.listingComplete && (run.listingError ? `listing failed: ${run.listingError}` : 'listing not finished'),
  ].filter(Boolean);
  const verdict = complete
    ? `migration of ${ws.env} complete: ${all} legacy objects (${parts.join(', ')}) in ${run.seconds.toFixed(1)} s`
    : `migration of ${ws.env} NOT complete: ${notMigrated} of ${all} objects not migrated (${problems.join(', ')}); ${parts.join(', ')}${run.interrupted ? '; interrupted' : ''}`;
  return {
    tool: 'bucketmove migrate',
    reportFormat: 'Report_CSV_20180820',
    reportColumns: [],
    env: ws.env,
    legacyBucket: ws.legacy.bucket,
    newBucket: ws.primary.bucket,
    prefix: args.prefix,
    dryRun: false,
    checkpoint: checkpointFile,
    run,
    notMigrated,
    complete,
    exitCode,
    verdict,
  };
}

if (require.main === module) runCli('migrate', main);
