/**
 * The zero-downtime tests' load around a migration: a load client runs `beforeOps` operations, then the migrate CLI
 * (`--env local`, a child process) starts while the load goes on, and the load stops `afterOps` operations after the
 * migrator has finished (or after `maxSeconds`, which the test asserts did not happen). Nothing here asserts on time.
 */
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { LoadClient } from './load-client';
import { migrateCli, type CliRun } from './migration';

/** How much load, and when: the same shape for every test, each with its own figures. */
export interface LoadShape {
  readonly workers: number;
  /** Operations before the migrator starts (reads fall back), and after it has finished (reads must not). */
  readonly beforeOps: number;
  readonly afterOps: number;
  /** The load stops here whatever happened (`timedOut`). */
  readonly maxSeconds: number;
}

/** What the migrator runs on. */
interface MigratorSetup {
  /** The prefix the migrator migrates (`--prefix`). */
  readonly prefix: string;
  /** The run's folder: the CLI's cwd, its checkpoint (`checkpoint.sqlite`) and its report (`report`). */
  readonly dir: string;
  /** Holds `local.json` (helpers/migration.ts's writeWorkspace). */
  readonly workspacesDir: string;
  /** More environment for the CLI (e.g. another rig state file). */
  readonly env?: NodeJS.ProcessEnv;
}

interface LoadAroundMigration {
  /** Load operations done. */
  readonly opsDone: number;
  readonly timedOut: boolean;
  /** The CLI's exit and output; undefined if it never finished while the load ran. */
  readonly migration: Awaited<CliRun['done']> | undefined;
  /** `performance.now()` when the CLI was started, and when it had finished (Infinity: never). */
  readonly migratorStartedAt: number;
  readonly migratorDoneAt: number;
  /** The migrator's checkpoint file, in `dir`. */
  readonly checkpoint: string;
}

export async function loadAroundMigration(
  client: LoadClient,
  shape: LoadShape,
  o: MigratorSetup,
): Promise<LoadAroundMigration> {
  const checkpoint = path.join(o.dir, 'checkpoint.sqlite');
  const t0 = performance.now();
  let migratorStartedAt = Infinity;
  let migratorDoneAt = Infinity;
  let migration: LoadAroundMigration['migration'];
  let doneAtMigratorEnd = -1;
  let timedOut = false;
  const opsDone = await client.run(shape.workers, (done) => {
    if ((performance.now() - t0) / 1000 > shape.maxSeconds) return (timedOut = true);
    if (done >= shape.beforeOps && migratorStartedAt === Infinity) {
      migratorStartedAt = performance.now();
      const run = migrateCli(
        [
          '--env',
          'local',
          '--prefix',
          o.prefix,
          '--checkpoint',
          checkpoint,
          '--report',
          path.join(o.dir, 'report'),
          '--concurrency',
          '4',
          '--progress',
          'log',
        ],
        { cwd: o.dir, workspacesDir: o.workspacesDir, env: o.env },
      );
      void run.done.then((res) => {
        migration = res;
        migratorDoneAt = performance.now();
      });
    }
    if (migration && doneAtMigratorEnd < 0) doneAtMigratorEnd = done;
    return doneAtMigratorEnd >= 0 && done >= doneAtMigratorEnd + shape.afterOps;
  });
  return { opsDone, timedOut, migration, migratorStartedAt, migratorDoneAt, checkpoint };
}
