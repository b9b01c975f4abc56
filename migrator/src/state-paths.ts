/**
 * Where the data half keeps its state by default, per env, relative to the folder the commands run from (the
 * repository root under `npm run`): `.bucketmove/<env>/` (gitignored) with the migrator's checkpoint, the reports of
 * the migrator and the audit, and the teardown's approval and synthesized stacks.
 */
import * as path from 'path';

export function stateDir(env: string): string {
  return path.join('.bucketmove', env);
}

/** The migrator's default checkpoint (cli/migrate.ts writes it there); the audit reads it. */
export function defaultCheckpointPath(env: string): string {
  return path.join(stateDir(env), 'checkpoint.sqlite');
}

/** The reports of the migrator and the audit. */
export function reportsDir(env: string): string {
  return path.join(stateDir(env), 'reports');
}

/** The teardown gate's approval file and synthesized stacks. */
export function teardownDir(env: string): string {
  return path.join(stateDir(env), 'teardown');
}
