/**
 * Where the data half keeps its state by default, per env, relative to the folder the commands run from (the
 * repository root under `npm run`): `.bucketmove/<env>/` (gitignored) with the migrator's checkpoint, the reports of
 * the migrator and the audit, and the teardown's approval and synthesized stacks.
 */
import * as fs from 'fs';
import * as path from 'path';

/** `root`: the folder the state lives under (default the working folder). */
export function stateDir(env: string, root = '.'): string {
  return path.join(root, '.bucketmove', env);
}

/** The migrator's default checkpoint (cli/migrate.ts writes it there); the audit reads it. One per shard of n tasks. */
export function defaultCheckpointPath(env: string, root = '.', shard?: { index: number; count: number }): string {
  return path.join(
    stateDir(env, root),
    shard && shard.count > 1 ? `checkpoint-shard-${shard.index}-of-${shard.count}.sqlite` : 'checkpoint.sqlite',
  );
}

/** The n of every set of shard checkpoints at their default paths (`checkpoint-shard-<i>-of-<n>.sqlite`), ascending. */
export function shardCountsOnDisk(env: string, root = '.'): number[] {
  const dir = stateDir(env, root);
  if (!fs.existsSync(dir)) return [];
  const counts = fs
    .readdirSync(dir)
    .flatMap((name) => /^checkpoint-shard-\d+-of-(\d+)\.sqlite$/.exec(name)?.[1] ?? [])
    .map(Number);
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** The reports of the migrator and the audit. */
export function reportsDir(env: string, root = '.'): string {
  return path.join(stateDir(env, root), 'reports');
}

/** The teardown gate's approval file and synthesized stacks. */
export function teardownDir(env: string, root = '.'): string {
  return path.join(stateDir(env, root), 'teardown');
}
