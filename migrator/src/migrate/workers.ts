/**
 * `migrate --workers N`: one command that uses every core. One Node process copies on one core (the SDK, signing,
 * decrypt and hashing are CPU work on the client), so the command starts N worker processes of the same CLI, each
 * `--shard i/N` of the keys with its own checkpoint (the same files `--shard` writes, which `audit --shards N` reads),
 * and stands over them:
 *   - one progress display: the workers print JSON progress lines (every WORKER_PROGRESS_MS), summed here into one bar
 *     or one progress line; their warnings pass through (named by worker),
 *   - one report: the shards' checkpoints merged in key order into `<report>.csv`, and one `<report>.json` whose run
 *     sums the workers' (each worker also writes its own `<report>-shard-i-of-N.*`),
 *   - one exit code: what one process would answer for the merged run (migrate-workspace.ts summarize); a worker that
 *     refused its input answers for all (exit 2, its one line), one that died otherwise makes it 1.
 * Ctrl-C (SIGINT or SIGTERM) is passed to every worker: the first stops them after the objects in flight, the second
 * aborts those. The workers run in their own process group (a terminal's Ctrl-C reaches this process only, which
 * passes it on once), and each stops by itself when this process dies (its IPC channel closes).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { mergeCheckpointRows } from '../audit/merge-checkpoints';
import type { Logger } from '../log';
import { formatShard, type Shard } from '../sources/shard';
import { Checkpoint } from './checkpoint';
import { ALL_STATES, type ObjectState } from '../objects/object-states';
import { EXIT as EXIT_CODES } from '../exit-codes';
import { summarize } from './migrate-workspace';
import { MigrateProgress } from './progress';
import { writeMigrationReportOf, type MigrationSummary } from './report';
import type { RunResult } from './run';

/** How often a worker prints its progress line (the display sums the latest of each). */
export const WORKER_PROGRESS_MS = 1000;
/** Set in a worker's environment: it is one of N under a --workers run. */
export const WORKER_ENV = 'BUCKETMOVE_WORKER_OF';

/**
 * A shard's own file beside the one the user named: `cp.sqlite` -> `cp-shard-2-of-4.sqlite`, `report` ->
 * `report-shard-2-of-4`.
 */
export function shardFile(file: string, shard: Shard): string {
  const ext = path.extname(file) === '.sqlite' ? '.sqlite' : '';
  return `${ext ? file.slice(0, -ext.length) : file}-shard-${shard.index}-of-${shard.count}${ext}`;
}

/**
 * The flags a worker is started with: the user's own (less --workers, --shard, --progress, --checkpoint, --report),
 * then its shard's.
 */
export function workerArgs(userArgs: readonly string[], shard: Shard, checkpoint: string, report: string): string[] {
  const dropped = new Set(['--workers', '--shard', '--progress', '--checkpoint', '--report']);
  const kept: string[] = [];
  for (let i = 0; i < userArgs.length; i++) {
    const a = userArgs[i];
    const name = a.split('=')[0];
    if (!dropped.has(name)) {
      kept.push(a);
      continue;
    }
    if (!a.includes('=') && i + 1 < userArgs.length && !userArgs[i + 1].startsWith('--')) i++; // its value
  }
  return [
    ...kept,
    '--workers',
    '1',
    '--shard',
    formatShard(shard),
    '--progress',
    'log',
    '--checkpoint',
    checkpoint,
    '--report',
    report,
  ];
}

/** The workers' runs as one: counts summed, the slowest's time, the listing complete only when every shard's is. */
export function mergeRuns(runs: readonly RunResult[]): RunResult {
  const sumBy = <K extends string>(keys: readonly K[], get: (r: RunResult, k: K) => number) =>
    Object.fromEntries(keys.map((k) => [k, runs.reduce((n, r) => n + get(r, k), 0)])) as Record<K, number>;
  const errors = (pick: (r: RunResult) => string | undefined) => {
    const all = runs.map((r, i) => (pick(r) ? `worker ${i + 1}: ${pick(r)}` : undefined)).filter(Boolean);
    return all.length ? { text: all.join('; ') } : undefined;
  };
  const listingError = errors((r) => r.listingError);
  const recheckError = errors((r) => r.recheckError);
  return {
    startedAt: runs.map((r) => r.startedAt).sort()[0],
    finishedAt: runs
      .map((r) => r.finishedAt)
      .sort()
      .slice(-1)[0],
    seconds: Math.max(...runs.map((r) => r.seconds)),
    processed: sumBy(ALL_STATES, (r, s) => r.processed[s]),
    storedBytes: runs.reduce((n, r) => n + r.storedBytes, 0),
    plaintextBytes: runs.reduce((n, r) => n + r.plaintextBytes, 0),
    retries: runs.reduce((n, r) => n + r.retries, 0),
    throttles: runs.reduce((n, r) => n + r.throttles, 0),
    interrupted: runs.some((r) => r.interrupted),
    listingComplete: runs.every((r) => r.listingComplete),
    ...(listingError ? { listingError: listingError.text } : {}),
    ...(recheckError ? { recheckError: recheckError.text } : {}),
    unrechecked: runs.reduce((n, r) => n + r.unrechecked, 0),
    totals: Object.fromEntries(
      ALL_STATES.map((s) => [
        s,
        {
          count: runs.reduce((n, r) => n + r.totals[s].count, 0),
          bytes: runs.reduce((n, r) => n + r.totals[s].bytes, 0),
        },
      ]),
    ) as Record<ObjectState, { count: number; bytes: number }>,
  };
}

/** How a worker ended: its report's summary, or why there is none. */
export type WorkerEnd =
  | { readonly summary: MigrationSummary }
  | { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly lastLine: string };

/**
 * The one exit code and failure line of the workers' ends, when one of them has no report: a refusal of the input
 * (exit 2) is everyone's answer; any other death is a failure (1). Undefined when every worker wrote its report.
 */
export function workersFailure(ends: readonly WorkerEnd[]): { code: number; line: string } | undefined {
  const failed = ends
    .map((e, i) => ({ e, i }))
    .filter((x): x is { e: Exclude<WorkerEnd, { summary: MigrationSummary }>; i: number } => !('summary' in x.e));
  if (failed.length === 0) return undefined;
  const refused = failed.find((f) => f.e.code === EXIT_USAGE);
  if (refused) return { code: EXIT_USAGE, line: refused.e.lastLine.replace(/^migrate: /, '') };
  const interrupted = failed.every(
    (f) => f.e.code === EXIT_CODES.interrupted || f.e.signal === 'SIGINT' || f.e.signal === 'SIGTERM',
  );
  if (interrupted)
    return {
      code: EXIT_CODES.interrupted,
      line: 'interrupted before every worker had started copying (rerun the same command to resume)',
    };
  const first = failed[0];
  const how = first.e.signal ? `was killed (${first.e.signal})` : `exited with ${first.e.code}`;
  return {
    code: EXIT_CODES.failed,
    line: `worker ${first.i + 1}/${ends.length} ${how}${first.e.lastLine ? `: ${first.e.lastLine}` : ''} (rerun the same command to resume)`,
  };
}

const EXIT_USAGE = 2;

export interface WorkersOptions {
  readonly ws: LoadedWorkspace;
  readonly workers: number;
  readonly prefix: string;
  /** The CLI's own arguments as given (passed on to each worker, less what workerArgs replaces). */
  readonly userArgs: readonly string[];
  /** The checkpoint of shard i (1-based). */
  readonly checkpointOf: (shard: Shard) => string;
  /** The merged report's base path; each worker writes `shardFile(report, shard)`. */
  readonly report: string;
  readonly log: Logger;
  readonly tty: boolean;
  /** The worker command: node, its flags, and this CLI's script (default: this process's own). */
  readonly command?: readonly string[];
}

export interface WorkersOutcome {
  readonly exitCode: number;
  /** The merged summary, when every worker wrote its report. */
  readonly summary?: MigrationSummary;
  readonly files?: { csv: string; json: string };
  /** Why there is no summary. */
  readonly failure?: string;
}

/** This process's own command line (node, its flags, the script), for starting workers of the same CLI. */
export function ownCommand(): string[] {
  const script = require.main?.filename ?? process.argv[1];
  // Under ts-node (the tests), the script is TypeScript: the worker registers ts-node too.
  const register = script.endsWith('.ts') ? ['-r', require.resolve('ts-node/register/transpile-only')] : [];
  return [process.execPath, ...process.execArgv, ...register, script];
}

export async function runWorkers(o: WorkersOptions): Promise<WorkersOutcome> {
  const n = o.workers;
  const shards = Array.from({ length: n }, (_, i) => ({ index: i + 1, count: n }));
  const [cmd, ...cmdArgs] = o.command ?? ownCommand();
  const progress = new MigrateProgress({ log: o.log, knownTotal: 0, alreadyDone: 0, tty: o.tty });
  const latest: Array<{ done: number; total: number; doneThisRun: number; bytes: number; problems: number }> =
    shards.map(() => ({ done: 0, total: 0, doneThisRun: 0, bytes: 0, problems: 0 }));
  const sum = () =>
    latest.reduce((a, s) => ({
      done: a.done + s.done,
      total: a.total + s.total,
      doneThisRun: a.doneThisRun + s.doneThisRun,
      bytes: a.bytes + s.bytes,
      problems: a.problems + s.problems,
    }));
  const children: ChildProcess[] = [];
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
    progress.note(
      'warn',
      { event: signals === 1 ? 'stopping' : 'aborting' },
      signals === 1
        ? 'stopping: the workers finish the objects in flight (press Ctrl-C again to abort them)'
        : 'aborting the objects in flight (their keys stay pending)',
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The display starts with the first worker's first progress line, i.e. once the workers got past their checks: a
  // run refused for bad input shows nothing but its one line.
  let started = false;
  try {
    const ends = await Promise.all(
      shards.map((shard, i) => {
        const report = shardFile(o.report, shard);
        fs.rmSync(`${report}.json`, { force: true }); // a report left by an earlier run must not stand for this one
        const child = spawn(cmd, [...cmdArgs, ...workerArgs(o.userArgs, shard, o.checkpointOf(shard), report)], {
          env: { ...process.env, [WORKER_ENV]: String(n) },
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          detached: true,
        });
        children.push(child);
        let lastLine = '';
        let buffered = '';
        const onLine = (line: string) => {
          if (!line.trim()) return;
          const entry = parseJsonLine(line);
          if (entry?.event === 'progress') {
            latest[i] = {
              done: num(entry.done),
              total: num(entry.total),
              doneThisRun: num(entry.doneThisRun),
              bytes: num(entry.bytes),
              problems: num(entry.problems),
            };
            if (!started) progress.start();
            started = true;
            return progress.absorb(sum());
          }
          if (!entry) lastLine = line.trim();
          if (entry && ['warn', 'error', 'fatal'].includes(String(entry.level))) {
            const { level: _l, time: _t, name: _n, msg, ...fields } = entry;
            progress.note('warn', { ...fields, worker: formatShard(shard) }, String(msg ?? ''));
          } else if (entry) {
            o.log.debug({ ...entry, worker: formatShard(shard) }, String(entry.msg ?? ''));
          }
        };
        child.stderr!.setEncoding('utf8').on('data', (d: string) => {
          buffered += d;
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          lines.forEach(onLine);
        });
        child.stdout!.resume();
        return new Promise<WorkerEnd>((resolve) => {
          child.on('error', (err) => resolve({ code: null, signal: null, lastLine: err.message }));
          child.on('close', (code, signal) => {
            if (buffered) onLine(buffered);
            const summary = readSummary(`${report}.json`);
            resolve(summary && code !== EXIT_USAGE ? { summary } : { code, signal, lastLine });
          });
        });
      }),
    );
    progress.absorb(sum());
    const failure = workersFailure(ends);
    if (failure) return { exitCode: failure.code, failure: failure.line };
    const summaries = ends.map((e) => (e as { summary: MigrationSummary }).summary);
    const first = summaries[0];
    const checkpoints = shards.map(o.checkpointOf);
    const merged = summarize(o.ws, o.prefix, checkpoints.join(', '), mergeRuns(summaries.map((s) => s.run)), {
      source: first.source,
      largeObjects: first.largeObjects,
    });
    const summary: MigrationSummary = { ...merged, verdict: `${merged.verdict} (${n} workers)` };
    const opened = checkpoints.map((f) => Checkpoint.openReadOnly(f));
    try {
      const rows = mergeCheckpointRows(
        opened.map((cp, i) => ({ label: `shard ${formatShard(shards[i])} (${checkpoints[i]})`, rows: cp.rows() })),
      );
      const files = writeMigrationReportOf(o.report, rows, summary, {
        workers: n,
        checkpoints,
        shardReports: shards.map((s) => `${shardFile(o.report, s)}.json`),
      });
      return { exitCode: summary.exitCode, summary, files };
    } finally {
      for (const cp of opened) cp.close();
    }
  } finally {
    if (started) progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function readSummary(file: string): MigrationSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as MigrationSummary;
  } catch {
    return undefined;
  }
}
