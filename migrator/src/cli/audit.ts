/**
 * npm run audit -- --env <env> [flags]
 *
 * The verify phase: proves every legacy object is in the new bucket as the migrator recorded it, and that the app no
 * longer reads from the legacy bucket (zero fallback hits in a window the store's heartbeats show the log covers, with
 * no gap longer than --max-gap). Writes a JSON report (read by the teardown
 * gate) and a Markdown summary. A migration run as n tasks (`migrate --shard i/n`) is audited over its n checkpoints:
 * `--shards n` (their default paths) or `--checkpoint` once per shard; they must be shards 1/n to n/n, each once.
 * Exit codes: 0 clean; 1 problems found (or the audit could not finish: nothing written); 2 bad input (nothing
 * written); 130 interrupted (nothing written).
 */
import { setMaxListeners } from 'events';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { coverageSummary, DEFAULT_MAX_GAP_MS } from '../../../workspaces/audit-verdict';
import { loadWorkspace } from '../../../workspaces/load';
import { createClients, preflightBoth } from '../aws/clients';
import { checkpointFiles, openCheckpointSet } from '../audit/checkpoint-set';
import { fallbackCounter, resolveFallbackSource } from '../audit/fallback-hits';
import { AuditProgress } from '../audit/progress';
import { auditReportName, writeAuditReport } from '../audit/report';
import { runAudit } from '../audit/run-audit';
import { coverageBinMs } from '../audit/fallback-cloudwatch';
import { formatDurationMs, parseDuration, parseTimeOrAgo } from '../audit/window';
import { loadCodec } from '../aws/codec-keys';
import { createLogger } from '../log';
import { MAX_SHARDS } from '../sources/shard';
import { reportsDir } from '../state-paths';
import { checkWhole, EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';

/** Tolerated difference between this machine's clock and a given --until. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run audit --')
      .usage(
        "$0 --env <env> [options]\n\nAudits a finished migration: every legacy key must be in the new bucket with the size and plaintext SHA-256 the migrator recorded (or be the app's own newer write), and the app must not have read from the legacy bucket in the window. Writes a JSON report and a Markdown summary; exits 0 only when clean.",
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace to audit (a file in workspaces/, e.g. prod)',
      })
      .option('checkpoint', {
        type: 'string',
        array: true,
        describe:
          "The migrator's SQLite checkpoint; for a migration run as n tasks (--shard i/n), give each shard's checkpoint (repeat the flag) [default: .bucketmove/<env>/checkpoint.sqlite]",
      })
      .option('shards', {
        type: 'number',
        describe:
          "The migration ran as n tasks (--shard 1/n to n/n): audit the n shards' default checkpoints, .bucketmove/<env>/checkpoint-shard-<i>-of-<n>.sqlite",
      })
      .option('migrate-report', {
        type: 'string',
        array: true,
        describe:
          "The JSON report of each shard's migrate run (or of a batch job; repeat the flag): the audit reads the checkpoint each names (where it was written, or beside the report)",
      })
      .option('report', {
        type: 'string',
        describe:
          'Report path without extension; writes <path>.json and <path>.md [default: .bucketmove/<env>/reports/audit-<time>]',
      })
      .option('deep', {
        type: 'boolean',
        default: false,
        describe: 'Re-read every migrated key on both sides (legacy decrypted) and compare SHA-256 hashes',
      })
      .option('sample', {
        type: 'number',
        describe: 'Re-read this many randomly chosen verified keys on both sides (a cheaper --deep)',
      })
      .option('seed', {
        type: 'string',
        describe: 'Seed of the --sample draw, to draw the same keys again [default: random, recorded in the report]',
      })
      .option('since', {
        type: 'string',
        default: '7d',
        describe: 'Start of the fallback-hit window: an ISO 8601 time or a duration back from now (30m, 12h, 7d, 2w)',
      })
      .option('until', { type: 'string', describe: 'End of the fallback-hit window, ISO 8601 [default: now]' })
      .option('max-gap', {
        type: 'string',
        default: `${DEFAULT_MAX_GAP_MS / 60_000}m`,
        describe:
          "The longest time in the window the app's heartbeats may leave uncovered (a process down, a log lost), its start and end included (30s, 15m, 1h)",
      })
      .option('fallback-log', {
        type: 'string',
        describe:
          "A JSON-lines log of the app to count fallback hits in, instead of the workspace's app.logGroup / app.localLogFile",
      })
      .option('query-timeout', {
        type: 'number',
        default: 300,
        describe: 'Seconds to wait for each CloudWatch Logs Insights query',
      })
      .option('concurrency', { type: 'number', default: 32, describe: 'HEAD requests to the new bucket in flight' })
      .option('deep-concurrency', {
        type: 'number',
        default: 16,
        describe: 'Keys re-read at once by --deep and --sample',
      })
      .option('memory', {
        type: 'number',
        default: 128,
        describe:
          'MiB of object data --deep and --sample hold at once (what the codec holds per object: a few chunks when it streams); a larger object runs alone',
      })
      .option('max-listed', {
        type: 'number',
        default: 1000,
        describe: 'Findings listed in the report (all are counted)',
      })
      .option('progress', {
        choices: ['auto', 'bar', 'log'] as const,
        default: 'auto' as const,
        describe: 'A bar (terminal) or JSON progress lines',
      })
      .check((a) => {
        checkWhole('sample', a.sample, 1, 1_000_000);
        checkWhole('concurrency', a.concurrency, 1, 256);
        checkWhole('deep-concurrency', a['deep-concurrency'], 1, 64);
        checkWhole('max-listed', a['max-listed'], 0, 1_000_000);
        checkWhole('memory', a.memory, 16, 65_536);
        checkWhole('query-timeout', a['query-timeout'], 1, 3600);
        checkWhole('shards', a.shards, 1, MAX_SHARDS);
        if ([a.shards !== undefined, a.checkpoint?.length, a['migrate-report']?.length].filter(Boolean).length > 1) {
          throw new UsageError(
            'give one of --shards n (the default checkpoint of each shard), --checkpoint for each shard, or --migrate-report for each shard, not several',
          );
        }
        if (a.deep && a.sample !== undefined)
          throw new UsageError('give --deep (every key re-read) or --sample N (N keys re-read), not both');
        if (a.seed !== undefined && a.sample === undefined) throw new UsageError('--seed goes with --sample');
        return true;
      }),
    {
      0: 'clean',
      1: 'problems found, or the audit could not finish (nothing written)',
      130: 'interrupted (nothing written)',
    },
  );
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const now = new Date();
  const ws = loadWorkspace(args.env);
  const until = args.until === undefined ? now : parseTimeOrAgo(args.until, '--until', now);
  const since = parseTimeOrAgo(args.since, '--since', now);
  if (until.getTime() > now.getTime() + CLOCK_SKEW_MS)
    throw new UsageError(`--until ${until.toISOString()} is in the future`);
  if (since.getTime() >= until.getTime())
    throw new UsageError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
  const window = { start: since, end: until };
  const maxGapMs = parseDuration(args['max-gap'], '--max-gap');
  const source = resolveFallbackSource(ws, args['fallback-log']);
  const base = args.report
    ? args.report.replace(/\.(json|md)$/, '')
    : path.join(reportsDir(ws.env), auditReportName(now));
  const checkpointPaths = checkpointFiles(ws.env, {
    checkpoints: args.checkpoint,
    shards: args.shards,
    reports: args['migrate-report'],
  });

  const tty = args.progress === 'bar' || (args.progress === 'auto' && Boolean(process.stderr.isTTY));
  const log = createLogger({ name: 'bucketmove-audit', level: tty ? 'warn' : undefined });
  const checkpoints = openCheckpointSet(ws, checkpointPaths, args.shards);
  const facts = checkpoints.facts;
  try {
    const codec = args.deep || args.sample ? await loadCodec(ws) : undefined;
    const clients = createClients(ws);
    try {
      await preflightBoth(clients);
      const interrupt = new AbortController();
      // Every request and stream in flight listens on it (HEADs, listings, deep re-reads): not a leak.
      setMaxListeners(args.concurrency + 4 * args['deep-concurrency'] + 16, interrupt.signal);
      const onSignal = () => interrupt.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const expectedKeys = Object.values(facts.states).reduce((n, c) => n + c, 0);
      const progress = new AuditProgress({ log, tty, expectedKeys });
      progress.start();
      let report;
      try {
        report = await runAudit(
          {
            ws,
            legacy: { client: clients.legacy.s3, bucket: clients.legacy.bucket, endpoint: clients.legacy.endpoint.url },
            current: {
              client: clients.primary.s3,
              bucket: clients.primary.bucket,
              endpoint: clients.primary.endpoint.url,
            },
            checkpoints,
            codec,
            countFallbackHits: fallbackCounter(source, {
              timeoutMs: args['query-timeout'] * 1000,
              binMs: coverageBinMs(maxGapMs),
              signal: interrupt.signal,
            }),
            events: progress,
          },
          {
            window,
            maxGapMs,
            deep: args.deep,
            sample: args.sample,
            sampleSeed: args.seed,
            concurrency: args.concurrency,
            deepConcurrency: args['deep-concurrency'],
            deepMemoryBytes: args.memory * 1024 * 1024,
            maxListed: args['max-listed'],
            signal: interrupt.signal,
          },
        );
      } catch (err) {
        if (interrupt.signal.aborted) {
          process.stderr.write('audit: interrupted; no report written\n');
          return EXIT.interrupted;
        }
        throw err;
      } finally {
        progress.stop();
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      const files = writeAuditReport(base, report);
      log.info(
        {
          event: 'audit-finished',
          passed: report.passed,
          problems: report.problems.total,
          fallbackHits: report.fallback.hits,
          report: files.json,
        },
        report.summary,
      );
      const f = report.fallback;
      process.stdout.write(
        [
          report.summary,
          `legacy keys ${report.counts.legacyKeys}, verified ${report.counts.verified}, app's own ${report.counts.appVersion}, with problems ${report.counts.problemKeys}, re-read ${report.counts.deepCompared}`,
          `fallback hits ${f.hits} in ${formatDurationMs(f.window.seconds * 1000)} (${f.window.start} to ${f.window.end}, ${f.source.kind} ${f.source.location}), ${coverageSummary(f.coverage)} (allowed ${formatDurationMs(f.coverage.maxGapSeconds * 1000)})`,
          `legacy listing digest ${report.legacyListing.digest}`,
          `report: ${files.json} and ${files.markdown}`,
          '',
        ].join('\n'),
      );
      return report.passed ? EXIT.ok : EXIT.failed;
    } finally {
      clients.legacy.destroy();
      clients.primary.destroy();
    }
  } finally {
    checkpoints.close();
  }
}

if (isEntry(module)) runCli('audit', main);
