/**
 * npm run migrate -- --env <env> [flags]
 *
 * The backfill: decrypt-copies every legacy object into the new bucket, resumably, never overwriting. Before the first
 * copy, a probe of the new bucket decides how objects above the part size are written
 * (migrate/conditional-write-probe.ts); the last lines say which way and why.
 * Exit codes: 0 all migrated or legitimately kept; 1 objects quarantined or failed; 2 bad input (nothing written);
 * 3 stopped with objects still pending (--limit); 130 interrupted (Ctrl-C).
 */
import { setMaxListeners } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COLLECTOR_SLACK_BYTES } from '../../../workspaces/codec-memory';
import { loadWorkspace, type LoadedWorkspace } from '../../../workspaces/load';
import { createClients, preflightBoth } from '../aws/clients';
import { loadCodec } from '../aws/codec-keys';
import { createLogger, type Logger } from '../log';
import { dryRun } from '../migrate/dry-run';
import { DEFAULT_COPY_WINDOW } from '../../../workspaces/codec-memory';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MEMORY_BYTES,
  migrateWorkspace,
} from '../migrate/migrate-workspace';
import { MigrateProgress } from '../migrate/progress';
import { largeObjectsLine, type MigrationSummary } from '../migrate/report';
import { checkMemoryHoldsAnObject } from '../migrate/dispatcher';
import type { MigrationRun } from '../migrate/run';
import { runWorkers, shardFile, WORKER_ENV, WORKER_PROGRESS_MS } from '../migrate/workers';
import { newBucketTarget } from '../objects/write-new';
import { fileStamp, writeFileAtomic } from '../report/files';
import { defaultCheckpointPath, reportsDir, shardCountsOnDisk } from '../state-paths';
import { parseShard, type Shard } from '../sources/shard';
import { checkS3Url, checkWhole, EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';
import { formatBytes, MIB } from '../../../workspaces/units';

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run migrate --')
      .usage(
        '$0 --env <env> [options]\n\nDecrypt-copies every legacy object into the new bucket (the backfill phase). Resumable: rerun the same command after a crash or Ctrl-C.',
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace to migrate (a file in workspaces/, e.g. prod)',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'List the legacy bucket and report what would be done; write nothing (no copies, no checkpoint)',
      })
      .option('concurrency', {
        type: 'number',
        default: DEFAULT_CONCURRENCY,
        describe: 'Objects copied at once (the run lowers it while S3 answers 503 SlowDown)',
      })
      .option('prefix', { type: 'string', default: '', describe: 'Only keys under this prefix (e.g. chats/42/)' })
      .option('limit', {
        type: 'number',
        describe: 'Process at most this many objects in this run (exit 3 if more remain)',
      })
      .option('checkpoint', {
        type: 'string',
        describe: 'SQLite checkpoint file [default: .bucketmove/<env>/checkpoint.sqlite]',
      })
      .option('report', {
        type: 'string',
        describe:
          'Report path without extension; writes <path>.csv (S3 Batch Operations Report_CSV_20180820) and <path>.json [default: .bucketmove/<env>/reports/migrate-<time>]',
      })
      .option('retry-quarantined', {
        type: 'boolean',
        default: false,
        describe: 'Try quarantined objects again (after fixing keys or permissions)',
      })
      .option('relist', {
        type: 'boolean',
        default: false,
        describe: 'List the legacy bucket again from the start (picks up keys added since the listing finished)',
      })
      .option('part-size', {
        type: 'number',
        default: DEFAULT_COPY_WINDOW.partSize / MIB,
        describe: 'MiB; objects above it are copied multipart in parts of this size',
      })
      .option('memory', {
        type: 'number',
        default: DEFAULT_MEMORY_BYTES / MIB,
        describe: `MiB the process may hold above its baseline: object data across all objects in flight (what their codec and copy hold), and ${COLLECTOR_SLACK_BYTES / MIB} MiB kept for garbage the collector has not reclaimed yet`,
      })
      .option('max-attempts', {
        type: 'number',
        default: DEFAULT_MAX_ATTEMPTS,
        describe: 'Attempts per object in one run for temporary failures (throttling, 5xx, timeouts)',
      })
      .option('shard', {
        type: 'string',
        describe:
          "i/n: copy only this task's share of the keys (a stable hash), so n tasks run in parallel copy each key once; each has its own checkpoint [default checkpoint: .bucketmove/<env>/checkpoint-shard-<i>-of-<n>.sqlite]",
      })
      .option('manifest', {
        type: 'string',
        describe:
          "Copy the keys of this manifest instead of listing: s3://bucket/.../manifest.json (an S3 Inventory report, CSV) or s3://bucket/key (a Batch Operations CSV, Bucket,Key[,VersionId]); read with the legacy side's credentials and pinned by its ETag",
      })
      .option('progress', {
        choices: ['auto', 'bar', 'log'] as const,
        default: 'auto' as const,
        describe: 'A bar (terminal) or JSON progress lines',
      })
      .option('workers', {
        type: 'number',
        describe:
          "Worker processes, one per core: each copies its shard of the keys (as --shard i/N does, with those checkpoints, which `audit --shards N` reads) with --concurrency, --memory and --limit of its own, under one progress display, one report and one exit code [default: the available cores, or 1 with --checkpoint or --shard, or when the unsharded default checkpoint exists; an earlier --workers run's N when its checkpoints exist]",
      })
      .check((a) => {
        checkWhole('concurrency', a.concurrency, 1, 256);
        checkWhole('limit', a.limit, 1);
        checkWhole('part-size', a['part-size'], 5, 5120);
        checkWhole('memory', a.memory, 16);
        checkWhole('max-attempts', a['max-attempts'], 1, 100);
        if (Array.isArray(a.shard)) throw new UsageError("--shard is given more than once: give this task's one i/n");
        if (a.shard !== undefined) shardOf(a.shard);
        if (a.manifest !== undefined && a['dry-run'])
          throw new UsageError('--dry-run lists the legacy bucket; give it without --manifest');
        checkS3Url('manifest', a.manifest);
        if (a.shard !== undefined && a['dry-run'])
          throw new UsageError('--dry-run looks at the whole source; give it without --shard');
        checkWhole('workers', a.workers, 1, 256);
        if (a.workers !== undefined && a.workers > 1 && a.shard !== undefined)
          throw new UsageError(
            '--workers N runs shards 1/N to N/N itself; give --shard without --workers (or --workers 1)',
          );
        if (a.workers !== undefined && a.workers > 1 && a['dry-run'])
          throw new UsageError('--dry-run lists the legacy bucket once; give it without --workers');
        return true;
      }),
    {
      0: 'every object migrated or legitimately kept',
      1: 'objects quarantined or failed',
      3: 'stopped with objects still pending (--limit): run it again',
      130: 'interrupted (Ctrl-C, SIGTERM): the objects in flight finished; run it again to resume',
    },
  );
}

type Args = ReturnType<typeof parseArgs>;

function shardOf(text: string): Shard {
  try {
    return parseShard(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function defaultPaths(ws: LoadedWorkspace, args: Args, shard: Shard | undefined) {
  const suffix = shard && shard.count > 1 ? `-shard-${shard.index}-of-${shard.count}` : '';
  return {
    checkpoint: args.checkpoint ?? defaultCheckpointPath(ws.env, '.', shard),
    report: args.report ?? path.join(reportsDir(ws.env), `migrate-${fileStamp()}${suffix}`),
  };
}

/**
 * The workers of a run that gives no --workers: every available core for a new migration at the default paths; 1 for
 * one named checkpoint or shard, or to resume a migration that one process began (its unsharded checkpoint exists);
 * the N of an earlier --workers run (or of `--shard i/N` runs at the default paths) whose checkpoints exist.
 */
export function defaultWorkers(
  env: string,
  args: Pick<Args, 'checkpoint' | 'shard' | 'dry-run'>,
  root = '.',
  cores = os.availableParallelism(),
): number {
  if (args.checkpoint !== undefined || args.shard !== undefined || args['dry-run']) return 1;
  if (fs.existsSync(defaultCheckpointPath(env, root))) return 1;
  const onDisk = shardCountsOnDisk(env, root);
  return onDisk.length === 1 ? onDisk[0] : Math.max(1, cores);
}

async function main(): Promise<number> {
  // A worker's channel to the process over it never keeps it alive (one that ends early, on bad input, exits at once).
  if (process.env[WORKER_ENV]) (process.channel as { unref?: () => void } | undefined)?.unref?.();
  const userArgs = hideBin(process.argv);
  const args = parseArgs(userArgs);
  const ws = loadWorkspace(args.env);
  if (args['dry-run']) return dryRunMain(ws, args);

  const tty = args.progress === 'bar' || (args.progress === 'auto' && Boolean(process.stderr.isTTY));
  const worker = Boolean(process.env[WORKER_ENV]);
  const log = createLogger({ name: 'bucketmove-migrate', level: tty ? 'warn' : worker ? 'info' : undefined });
  const workers = args.workers ?? defaultWorkers(ws.env, args);
  if (workers > 1) return workersMain(ws, args, userArgs, workers, log, tty);
  const shard = args.shard === undefined ? undefined : shardOf(args.shard);
  const paths = defaultPaths(ws, args, shard);
  let run: MigrationRun | undefined;
  let progress: MigrateProgress | undefined;
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (!run) process.exit(EXIT.interrupted); // nothing started yet: nothing to finish
    run.interruptedByUser = true;
    if (signals === 1) {
      run.stop();
      progress?.note(
        'warn',
        { event: 'stopping' },
        'stopping: finishing the objects in flight (press Ctrl-C again to abort them)',
      );
    } else {
      run.abort();
      progress?.note('warn', { event: 'aborting' }, 'aborting the objects in flight (their keys stay pending)');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A worker of a --workers run stops (finishing the objects in flight) when the process over it is gone.
  if (worker && process.connected) process.once('disconnect', onSignal);
  const { summary, files } = await migrateWorkspace(ws, {
    prefix: args.prefix,
    checkpoint: paths.checkpoint,
    report: paths.report,
    concurrency: args.concurrency,
    limit: args.limit,
    maxAttempts: args['max-attempts'],
    retryQuarantined: args['retry-quarantined'],
    relist: args.relist,
    manifest: args.manifest,
    shard,
    memoryBytes: args.memory * MIB,
    partSize: args['part-size'] * MIB,
    onRun: (r) => (run = r),
    events: (before) => {
      const known = Object.values(before).reduce((n, c) => n + c.count, 0);
      const redo =
        before.pending.count + before.failed.count + (args['retry-quarantined'] ? before.quarantined.count : 0);
      progress = new MigrateProgress({
        log,
        knownTotal: known,
        alreadyDone: known - redo,
        tty,
        intervalMs: worker ? WORKER_PROGRESS_MS : undefined,
      });
      return progress;
    },
  });
  if (worker && process.connected) {
    process.off('disconnect', onSignal);
    process.disconnect();
  }
  return finish(log, summary, files);
}

function finish(log: Logger, summary: MigrationSummary, files: { csv: string; json: string }, audit = ''): number {
  log.info(
    {
      event: 'migration-finished',
      totals: summary.run.totals,
      exitCode: summary.exitCode,
      report: files.csv,
      largeObjects: summary.largeObjects,
    },
    summary.verdict,
  );
  const large = summary.largeObjects ? `${largeObjectsLine(summary.largeObjects)}\n` : '';
  process.stdout.write(
    `${summary.verdict}\n${large}report: ${files.csv} and ${files.json}\ncheckpoint: ${summary.checkpoint}\n${audit}`,
  );
  return summary.exitCode;
}

/** N workers over shards 1/N..N/N (migrate/workers.ts): one display, one report, one exit code. */
async function workersMain(
  ws: LoadedWorkspace,
  args: Args,
  userArgs: string[],
  n: number,
  log: Logger,
  tty: boolean,
): Promise<number> {
  // The keys, each worker's --memory against the copy window and both sides' credentials are checked once, here,
  // before any worker starts (bad input: one line, exit 2), in the order a single run checks them.
  const codec = await loadCodec(ws);
  checkMemoryHoldsAnObject(args.memory * MIB, codec, {
    partSize: args['part-size'] * MIB,
    queueSize: DEFAULT_COPY_WINDOW.queueSize,
  });
  const clients = createClients(ws);
  try {
    await preflightBoth(clients);
  } finally {
    clients.legacy.destroy();
    clients.primary.destroy();
  }
  const base = defaultPaths(ws, args, undefined);
  const out = await runWorkers({
    ws,
    workers: n,
    prefix: args.prefix,
    userArgs,
    checkpointOf: (shard) =>
      args.checkpoint === undefined ? defaultCheckpointPath(ws.env, '.', shard) : shardFile(args.checkpoint, shard),
    report: base.report,
    log,
    tty,
  });
  if (!out.summary || !out.files) {
    process.stderr.write(`migrate: ${out.failure}\n`);
    return out.exitCode;
  }
  const audit = args.checkpoint === undefined ? `audit: npm run audit -- --env ${ws.env} --shards ${n}\n` : '';
  return finish(log, out.summary, out.files, audit);
}

async function dryRunMain(ws: LoadedWorkspace, args: Args): Promise<number> {
  await loadCodec(ws); // the keys must be there for the real run too: say so now
  const clients = createClients(ws);
  try {
    await preflightBoth(clients);
    const interrupt = new AbortController();
    setMaxListeners(0, interrupt.signal);
    process.once('SIGINT', () => interrupt.abort());
    process.once('SIGTERM', () => interrupt.abort());
    const res = await dryRun(
      { client: clients.legacy.s3, bucket: clients.legacy.bucket },
      newBucketTarget(ws.primary.encryption, clients.primary, { queueSize: 1 }),
      {
        prefix: args.prefix,
        limit: args.limit,
        concurrency: args.concurrency,
        reportCsv: args.report ? `${args.report}.csv` : undefined,
        signal: interrupt.signal,
      },
    );
    if (args.report)
      writeFileAtomic(
        `${args.report}.json`,
        `${JSON.stringify({ tool: 'bucketmove migrate --dry-run', env: ws.env, prefix: args.prefix, ...res }, null, 2)}\n`,
      );
    process.stdout.write(
      `dry run (${ws.env}): ${res.listed} legacy objects (${formatBytes(res.listedBytes)}): ${res.wouldCopy} to copy, ${res.alreadyMigrated} already migrated, ${res.appVersionKept} kept as the app wrote them, ${res.deleted} deleted by the app, ${res.errors} unchecked${args.report ? `; report: ${args.report}.csv` : ''}\n`,
    );
    return interrupt.signal.aborted ? EXIT.interrupted : res.errors ? EXIT.failed : EXIT.ok;
  } finally {
    clients.legacy.destroy();
    clients.primary.destroy();
  }
}

if (isEntry(module)) runCli('migrate', main);
