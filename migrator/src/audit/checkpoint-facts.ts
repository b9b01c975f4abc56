/**
 * What the audit takes from the migrator's checkpoint besides its rows: that it belongs to this env and these buckets,
 * whether its listing of the legacy bucket finished, and the last migration run (its start is the line after which a
 * legacy write means someone still writes to legacy).
 */
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { Checkpoint, type RunRecord } from '../migrate/checkpoint';
import { ALL_STATES, type ObjectState } from '../objects/object-states';

export interface CheckpointFacts {
  readonly path: string;
  readonly prefix: string;
  /** The shard ("i/n") the checkpoint holds, when the migration ran as n tasks (`migrate --shard i/n`). */
  readonly shard?: string;
  /** The key source when it was not a listing of the legacy bucket (a manifest). */
  readonly source?: string;
  readonly listingComplete: boolean;
  readonly lastRun: RunRecord | null;
  readonly runs: number;
  /** Rows by state (all keys the migrator ever listed, legacy deletions included). */
  readonly states: Record<ObjectState, number>;
}

/** Opens the checkpoint read-only and checks that it is this workspace's; a mismatch is a one-line ConfigError. */
export function openCheckpointFor(
  ws: LoadedWorkspace,
  file: string,
): { checkpoint: Checkpoint; facts: CheckpointFacts } {
  let checkpoint: Checkpoint;
  try {
    checkpoint = Checkpoint.openReadOnly(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `checkpoint ${file}: cannot be opened as a SQLite database (${(err as Error).message}); give the migrator's checkpoint with --checkpoint`,
    );
  }
  try {
    let id;
    try {
      id = checkpoint.identity();
    } catch (err) {
      throw new ConfigError(
        `checkpoint ${file}: not a bucketmove checkpoint (${(err as Error).message.split('\n')[0]})`,
      );
    }
    if (!id)
      throw new ConfigError(
        `checkpoint ${file}: records no migration (no identity); give the migrator's checkpoint with --checkpoint`,
      );
    if (id.env !== ws.env || id.legacyBucket !== ws.legacy.bucket || id.newBucket !== ws.primary.bucket) {
      throw new ConfigError(
        `checkpoint ${file} belongs to another migration (env ${id.env}, ${id.legacyBucket} -> ${id.newBucket}), not to ${ws.env} (${ws.legacy.bucket} -> ${ws.primary.bucket}); give the right --checkpoint`,
      );
    }
    const runs = checkpoint.runs();
    const counts = checkpoint.counts();
    const facts: CheckpointFacts = {
      path: file,
      prefix: id.prefix,
      ...(id.shard ? { shard: id.shard } : {}),
      ...(id.source ? { source: id.source } : {}),
      listingComplete: checkpoint.listCursor().complete,
      lastRun: runs.length ? runs[runs.length - 1] : null,
      runs: runs.length,
      states: Object.fromEntries(ALL_STATES.map((s) => [s, counts[s].count])) as Record<ObjectState, number>,
    };
    return { checkpoint, facts };
  } catch (err) {
    checkpoint.close();
    throw err;
  }
}

/** Why the checkpoint alone says the migration is not finished (empty when it is); a shard's problems name it. */
export function checkpointProblems(f: CheckpointFacts): string[] {
  const out: string[] = [];
  const rerun = f.shard ? `rerun the migrator with --shard ${f.shard}` : 'rerun the migrator';
  if (!f.lastRun) out.push('the checkpoint records no migration run');
  else if (!f.lastRun.finishedAt)
    out.push(`the last migration run (#${f.lastRun.id}, started ${f.lastRun.startedAt}) never finished: ${rerun}`);
  if (!f.listingComplete) out.push(`the migrator's listing of the legacy bucket did not finish: ${rerun}`);
  return f.shard ? out.map((p) => `shard ${f.shard} (${f.path}): ${p}`) : out;
}
