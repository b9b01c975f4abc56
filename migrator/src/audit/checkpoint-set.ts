/**
 * The checkpoints an audit reads: the migrator's one checkpoint, or the n checkpoints of a migration run as n tasks
 * (`migrate --shard i/n`). The n must form one complete set: the same env, buckets, prefix and key source, shards 1/n
 * to n/n each exactly once; anything else is a one-line ConfigError naming the shard that is missing or doubled.
 *
 * The set gives the audit the rows of all its checkpoints as one key-ordered stream (a k-way merge, memory flat), the
 * facts of the whole migration (sums over the shards), each shard's own facts and problems, and the start of the
 * last run that copied a given key (each key hashes to one shard, as the migrator split them).
 */
import * as fs from 'fs';
import * as path from 'path';
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { ALL_STATES, type ObjectState } from '../objects/object-states';
import { type ObjectRow } from '../objects/records';
import { formatShard, parseShard, shardOfKey, type Shard } from '../sources/shard';
import { defaultCheckpointPath, shardCountsOnDisk, stateDir } from '../state-paths';
import { checkpointProblems, openCheckpointFor, type CheckpointFacts } from './checkpoint-facts';
import { inKeyOrder } from './list-objects';
import { mergeCheckpointRows } from './merge-checkpoints';

type Opened = ReturnType<typeof openCheckpointFor>;

export interface CheckpointSet {
  /** One checkpoint, or the n shards in shard order (members[i] is shard i+1/n). */
  readonly members: readonly Opened[];
  /** n, when the checkpoints are the shards of a migration run as n tasks. */
  readonly shardCount?: number;
  /** The whole migration: the one checkpoint's facts, or the shards' summed (listing complete when every one is). */
  readonly facts: CheckpointFacts;
  /** Every row of every checkpoint, in key (UTF-8 byte) order. */
  rows(): AsyncGenerator<ObjectRow>;
  /** When the last migration run that handled `key` started (the run of the key's shard). */
  lastRunStartedAt(key: string): string | undefined;
  /** Why the checkpoints say the migration is not finished, each shard named. */
  problems(): string[];
  close(): void;
}

/** What the set check needs of each checkpoint. */
export interface MemberIdentity {
  readonly path: string;
  readonly prefix: string;
  readonly shard?: string;
  readonly source?: string;
}

const LISTED = 8;

function listShards(shards: readonly Shard[]): string {
  const names = shards.map(formatShard);
  return names.length > LISTED
    ? `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more`
    : names.join(', ');
}

/**
 * Checks that the checkpoints are one unsharded checkpoint, or shards 1..n of one sharded migration each once, and
 * returns n (undefined for an unsharded one). `expected` is the n the user asked for (`--shards n`).
 */
export function checkShardSet(members: readonly MemberIdentity[], expected?: number): number | undefined {
  const unsharded = members.find((m) => !m.shard);
  if (unsharded) {
    if (members.length === 1 && !(expected && expected > 1)) return undefined;
    throw new ConfigError(
      `checkpoint ${unsharded.path} is of a migration not split into shards; give it alone, or give the n checkpoints of a sharded migration (one per --shard i/n)`,
    );
  }
  const shards = members.map((m) => {
    try {
      return parseShard(m.shard!);
    } catch {
      throw new ConfigError(
        `checkpoint ${m.path} records a shard "${m.shard}" that is not i/n; give the checkpoints the migrator wrote`,
      );
    }
  });
  const first = members[0];
  const n = shards[0].count;
  for (let i = 1; i < members.length; i++) {
    const m = members[i];
    if (shards[i].count !== n) {
      throw new ConfigError(
        `checkpoint ${first.path} is shard ${first.shard} but ${m.path} is shard ${m.shard}: give the checkpoints of one migration run as n tasks`,
      );
    }
    if (m.prefix !== first.prefix) {
      throw new ConfigError(
        `checkpoint ${first.path} (shard ${first.shard}) has prefix "${first.prefix}" but ${m.path} (shard ${m.shard}) has "${m.prefix}": give the checkpoints of one migration`,
      );
    }
    if ((m.source ?? 'listing') !== (first.source ?? 'listing')) {
      throw new ConfigError(
        `checkpoint ${first.path} (shard ${first.shard}) read its keys from ${first.source ?? 'a listing'} but ${m.path} (shard ${m.shard}) from ${m.source ?? 'a listing'}: give the checkpoints of one migration`,
      );
    }
  }
  if (expected !== undefined && expected !== n) {
    throw new ConfigError(`--shards ${expected}, but checkpoint ${first.path} is shard ${first.shard} of ${n}`);
  }
  const byIndex = new Map<number, string>();
  for (let i = 0; i < members.length; i++) {
    const was = byIndex.get(shards[i].index);
    if (was !== undefined) {
      throw new ConfigError(
        `shard ${formatShard(shards[i])} is given twice (${was} and ${members[i].path}); give each shard's checkpoint once`,
      );
    }
    byIndex.set(shards[i].index, members[i].path);
  }
  const missing: Shard[] = [];
  for (let index = 1; index <= n; index++) if (!byIndex.has(index)) missing.push({ index, count: n });
  if (missing.length) {
    const given = [...byIndex.keys()].sort((a, b) => a - b).map((index) => ({ index, count: n }));
    throw new ConfigError(
      `${missing.length === 1 ? `shard ${formatShard(missing[0])} is` : `shards ${listShards(missing)} are`} missing (given: ${listShards(given)}); give every shard's checkpoint with --checkpoint, or run the missing shards first`,
    );
  }
  return n;
}

/**
 * The checkpoint files to audit: those given (`--checkpoint`, several for the shards), or shards 1..n at their
 * default paths (`--shards n`), or the default checkpoint. A default file that does not exist is a one-line error
 * with what to run (and, when only per-shard checkpoints exist, the `--shards n` to give).
 */
export function checkpointFiles(
  env: string,
  o: { checkpoints?: readonly string[]; shards?: number; reports?: readonly string[] },
  root = '.',
): string[] {
  const ways = [o.checkpoints?.length, o.shards !== undefined, o.reports?.length].filter(Boolean).length;
  if (ways > 1) {
    throw new ConfigError(
      'give one of --shards n (the default checkpoint of each shard), --checkpoint for each shard, or --migrate-report for each shard, not several',
    );
  }
  if (o.reports?.length) return o.reports.map((r) => checkpointOfReport(env, r));
  if (o.checkpoints?.length) return [...o.checkpoints];
  const file = defaultCheckpointPath(env, root);
  // No flag and no unsharded checkpoint: one set of shard checkpoints (a `migrate --workers n` run) is the migration.
  const onDisk = o.shards === undefined && !fs.existsSync(file) ? shardCountsOnDisk(env, root) : [];
  const shards = o.shards ?? (onDisk.length === 1 ? onDisk[0] : undefined);
  if (shards !== undefined) {
    const files = Array.from({ length: shards }, (_, i) =>
      defaultCheckpointPath(env, root, { index: i + 1, count: shards }),
    );
    const absent = files.findIndex((f) => !fs.existsSync(f));
    if (absent >= 0) {
      const shard = formatShard({ index: absent + 1, count: shards });
      throw new ConfigError(
        `shard ${shard}: checkpoint ${files[absent]} does not exist; run \`npm run migrate -- --env ${env} --shard ${shard}\` first, or give the shards' checkpoints with --checkpoint`,
      );
    }
    return files;
  }
  if (onDisk.length > 1) {
    throw new ConfigError(
      `checkpoint ${file} does not exist, but ${path.join(stateDir(env, root), `checkpoint-shard-*-of-${onDisk.join('|')}.sqlite`)} do: give --shards ${onDisk.join(' or --shards ')}`,
    );
  }
  return [file];
}

/**
 * The checkpoint a migrator's (or a Batch Operations job's) JSON report names: the path as the report recorded it
 * (relative to where that run was started), or, when that is not there, the same file name beside the report (the
 * n tasks' reports and checkpoints gathered into one folder). The audit reads the checkpoint, not the report: a report
 * is the snapshot of one run, while the checkpoint is the current record of every key.
 */
export function checkpointOfReport(env: string, report: string): string {
  let summary: { tool?: unknown; env?: unknown; checkpoint?: unknown };
  try {
    summary = JSON.parse(fs.readFileSync(report, 'utf8')) as typeof summary;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not a JSON report';
    throw new ConfigError(
      `--migrate-report ${report} ${why}: give the .json report npm run migrate (or npm run batch) wrote`,
    );
  }
  if (
    (summary.tool !== 'bucketmove migrate' && summary.tool !== 'bucketmove batch') ||
    typeof summary.checkpoint !== 'string'
  ) {
    throw new ConfigError(
      `--migrate-report ${report} is not a report of npm run migrate or npm run batch (no tool and checkpoint fields): give the .json report they wrote`,
    );
  }
  if (summary.env !== env)
    throw new ConfigError(`--migrate-report ${report} is a report of env "${String(summary.env)}", not "${env}"`);
  if (fs.existsSync(summary.checkpoint)) return summary.checkpoint;
  const beside = path.join(path.dirname(report), path.basename(summary.checkpoint));
  if (fs.existsSync(beside)) return beside;
  throw new ConfigError(
    `--migrate-report ${report} names checkpoint ${summary.checkpoint}, which is neither there nor beside the report: copy the checkpoint next to the report, or give it with --checkpoint`,
  );
}

function sumFacts(members: readonly CheckpointFacts[]): CheckpointFacts {
  const states = Object.fromEntries(ALL_STATES.map((s) => [s, members.reduce((n, m) => n + m.states[s], 0)])) as Record<
    ObjectState,
    number
  >;
  const lastRuns = members.map((m) => m.lastRun).filter((r) => r !== null);
  const latest = lastRuns.reduce<(typeof lastRuns)[number] | null>(
    (a, r) => (a && a.startedAt >= r.startedAt ? a : r),
    null,
  );
  return {
    path: members.map((m) => m.path).join(', '),
    prefix: members[0].prefix,
    ...(members[0].source ? { source: members[0].source } : {}),
    listingComplete: members.every((m) => m.listingComplete),
    lastRun: latest,
    runs: members.reduce((n, m) => n + m.runs, 0),
    states,
  };
}

/** Opens the checkpoints read-only, each checked to be this workspace's, and the set checked to be complete. */
export function openCheckpointSet(
  ws: LoadedWorkspace,
  files: readonly string[],
  expectedShards?: number,
): CheckpointSet {
  const opened: Opened[] = [];
  const closeAll = () => opened.forEach((o) => o.checkpoint.close());
  let shardCount: number | undefined;
  try {
    for (const f of files) opened.push(openCheckpointFor(ws, f));
    shardCount = checkShardSet(
      opened.map((o) => o.facts),
      expectedShards,
    );
  } catch (err) {
    closeAll();
    throw err;
  }
  const members = shardCount
    ? [...opened].sort((a, b) => parseShard(a.facts.shard!).index - parseShard(b.facts.shard!).index)
    : opened;
  const facts = shardCount ? sumFacts(members.map((m) => m.facts)) : members[0].facts;
  const what = shardCount ? `the ${shardCount} shard checkpoints` : `the checkpoint ${facts.path}`;
  return {
    members,
    shardCount,
    facts,
    rows: () =>
      inKeyOrder(
        mergeCheckpointRows(
          members.map((m) => ({
            label: `shard ${m.facts.shard ?? '1/1'} (${m.facts.path})`,
            rows: m.checkpoint.rows(),
          })),
        ),
        what,
      ),
    lastRunStartedAt: shardCount
      ? (key) => members[shardOfKey(key, shardCount!)].facts.lastRun?.startedAt
      : () => facts.lastRun?.startedAt,
    problems: () => members.flatMap((m) => checkpointProblems(m.facts)),
    close: closeAll,
  };
}
