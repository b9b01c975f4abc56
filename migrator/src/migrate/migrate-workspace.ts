/**
 * The migration of one workspace, as a library call: the clients (with their preflight), the conditional-write probe
 * of the new bucket (which decides how large objects are written), the codec, the checkpoint, the run, the
 * completion report. The CLI adds flags, signals and the progress display; tests and the demo call this.
 */
import type { LoadedWorkspace } from '../../../workspaces/load';
import { createClients, preflightBoth, type SideClientOptions } from '../aws/clients';
import type { Codec } from '../codec/codec';
import { loadCodec } from '../aws/codec-keys';
import { EXIT } from '../exit-codes';
import { Checkpoint } from './checkpoint';
import { type ObjectState } from '../objects/object-states';
import { largeObjectWrite, probeConditionalWrites, type LargeObjectWrite } from './conditional-write-probe';
import { writeMigrationReport, type MigrationSummary } from './report';
import { checkMemoryHoldsAnObject } from './dispatcher';
import { MigrationRun, type RunEvents, type RunOptions, type RunResult } from './run';
import { DEFAULT_COPY_WINDOW } from '../../../workspaces/codec-memory';
import { MIB } from '../../../workspaces/units';
import { attachUploadLedger } from './upload-ledger';
import { newBucketTarget } from '../objects/write-new';
import type { KeySource } from '../sources/key-source';
import { formatShard } from '../sources/shard';
import { openManifest } from '../sources/open-manifest';
import { s3ManifestObjects } from '../sources/manifest-object';

export interface MigrateOptions extends Partial<Omit<RunOptions, 'prefix'>> {
  readonly prefix?: string;
  readonly checkpoint: string;
  /** Report path without extension. */
  readonly report: string;
  readonly partSize?: number;
  readonly queueSize?: number;
  /** Client options (credentials mode, transport, rig state). */
  readonly clients?: SideClientOptions;
  /** Where the keys come from (default: a listing of the legacy bucket under the prefix). */
  readonly keys?: KeySource;
  /** Or a manifest, s3://bucket/key, read with the legacy side's client (sources/open-manifest.ts). */
  readonly manifest?: string;
  /** A codec to use instead of the workspace's (tests wrap one). */
  readonly codec?: Codec;
  /** Builds the run's observer from the checkpoint's counts before the run (the CLI's progress display). */
  readonly events?: (
    before: Record<ObjectState, { count: number; bytes: number }>,
  ) => RunEvents & { start?(): void; stop?(): void };
  /** Called with the run once it exists (the CLI wires Ctrl-C to it). */
  readonly onRun?: (run: MigrationRun) => void;
}

export interface MigrateOutcome {
  readonly summary: MigrationSummary;
  readonly files: { csv: string; json: string };
}

/**
 * `--memory`'s default: what the process may hold above its baseline. The 104 MiB it leaves for object data beside the
 * collector's slack (dispatcher.ts) keep two large objects in flight (49 MiB each with 8 MiB parts) and small ones
 * beside.
 */
export const DEFAULT_MEMORY_BYTES = 192 * MIB;
/** `--concurrency`'s default: objects copied at once (fewer while S3 pushes back: pacer.ts). */
export const DEFAULT_CONCURRENCY = 16;
/** `--max-attempts`'s default: attempts per object in one run for temporary failures. */
export const DEFAULT_MAX_ATTEMPTS = 5;

export async function migrateWorkspace(ws: LoadedWorkspace, o: MigrateOptions): Promise<MigrateOutcome> {
  const codec = o.codec ?? (await loadCodec(ws));
  const window = {
    partSize: o.partSize ?? DEFAULT_COPY_WINDOW.partSize,
    queueSize: o.queueSize ?? DEFAULT_COPY_WINDOW.queueSize,
  };
  const memoryBytes = o.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  checkMemoryHoldsAnObject(memoryBytes, codec, window);
  const clients = createClients(ws, o.clients);
  try {
    await preflightBoth(clients);
    const prefix = o.prefix ?? '';
    const keys =
      o.keys ??
      (o.manifest
        ? await openManifest(s3ManifestObjects(clients.legacy.s3), o.manifest, {
            legacyBucket: ws.legacy.bucket,
            prefix,
          })
        : undefined);
    const target = newBucketTarget(ws.primary.encryption, clients.primary, window);
    // Before the checkpoint exists: a server on which no write is safe is refused with nothing written.
    const largeObjects = largeObjectWrite(await probeConditionalWrites(target));
    const shard = o.shard && o.shard.count > 1 ? formatShard(o.shard) : undefined;
    const checkpoint = Checkpoint.open(o.checkpoint, {
      env: ws.env,
      legacyBucket: ws.legacy.bucket,
      newBucket: ws.primary.bucket,
      prefix,
      ...(keys ? { source: keys.describe } : {}),
      ...(shard ? { shard } : {}),
    });
    try {
      attachUploadLedger(target.client, checkpoint);
      const events = o.events?.(checkpoint.counts());
      const run = new MigrationRun(
        {
          source: { client: clients.legacy.s3, bucket: clients.legacy.bucket },
          target,
          codec,
          largeObjects,
          checkpoint,
          keys,
          events,
        },
        {
          concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
          prefix,
          limit: o.limit,
          maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          retryQuarantined: o.retryQuarantined ?? false,
          relist: o.relist,
          memoryBytes,
          backoff: o.backoff,
          listPageSize: o.listPageSize,
          shard: o.shard,
        },
      );
      o.onRun?.(run);
      const runId = checkpoint.startRun();
      events?.start?.();
      let result: RunResult;
      try {
        result = await run.run();
      } finally {
        events?.stop?.();
      }
      const summary = summarize(ws, prefix, checkpoint.file, result, { shard, source: keys?.describe, largeObjects });
      checkpoint.finishRun(runId, summary.verdict, summary);
      const files = writeMigrationReport(o.report, checkpoint, summary);
      return { summary, files };
    } finally {
      checkpoint.close();
    }
  } finally {
    clients.legacy.destroy();
    clients.primary.destroy();
  }
}

export function summarize(
  ws: LoadedWorkspace,
  prefix: string,
  checkpointFile: string,
  run: RunResult,
  from: { shard?: string; source?: string; tool?: MigrationSummary['tool']; largeObjects?: LargeObjectWrite } = {},
): MigrationSummary {
  const t = run.totals;
  const n = (s: ObjectState) => t[s].count;
  const notMigrated = n('quarantined') + n('failed') + n('pending') + run.unrechecked;
  const complete = notMigrated === 0 && run.listingComplete;
  const exitCode = run.interrupted
    ? EXIT.interrupted
    : n('quarantined') + n('failed') > 0 || run.listingError || run.recheckError
      ? EXIT.failed
      : complete
        ? EXIT.ok
        : EXIT.incomplete;
  const all = Object.values(t).reduce((sum, c) => sum + c.count, 0);
  const parts = [
    `copied ${n('copied')}`,
    n('already-migrated') && `already migrated ${n('already-migrated')}`,
    n('kept-app-version') && `kept as the app wrote them ${n('kept-app-version')}`,
    n('vanished') + n('deleted-during-copy') && `deleted by the app ${n('vanished') + n('deleted-during-copy')}`,
  ].filter(Boolean);
  const problems = [
    n('quarantined') && `${n('quarantined')} quarantined`,
    n('failed') && `${n('failed')} failed (retried next run)`,
    n('pending') && `${n('pending')} not attempted yet`,
    !run.listingComplete && (run.listingError ? `listing failed: ${run.listingError}` : 'listing not finished'),
    run.unrechecked &&
      `${run.unrechecked} copies not yet rechecked for deletes (${run.recheckError ?? 'the next run does it'})`,
  ].filter(Boolean);
  const processed = Object.values(run.processed).reduce((sum, c) => sum + c, 0);
  const thisRun = `this run: ${processed} objects in ${run.seconds.toFixed(1)} s`;
  const what = `${ws.env}${from.shard ? ` (shard ${from.shard})` : ''}`;
  const verdict = complete
    ? `migration of ${what} complete: ${all} legacy objects (${parts.join(', ')}); ${thisRun}`
    : `migration of ${what} NOT complete: ${notMigrated} of ${all} objects not migrated (${problems.join(', ')}); ${parts.join(', ')}; ${thisRun}${run.interrupted ? ', interrupted' : ''}`;
  return {
    tool: from.tool ?? 'bucketmove migrate',
    reportFormat: 'Report_CSV_20180820',
    reportColumns: [],
    env: ws.env,
    legacyBucket: ws.legacy.bucket,
    newBucket: ws.primary.bucket,
    prefix,
    ...(from.shard ? { shard: from.shard } : {}),
    ...(from.source ? { source: from.source } : {}),
    ...(from.largeObjects ? { largeObjects: from.largeObjects } : {}),
    dryRun: false,
    checkpoint: checkpointFile,
    run,
    notMigrated,
    complete,
    exitCode,
    verdict,
  };
}
