/**
 * Jest global setup of the `integration` project: one local S3 for the whole run.
 *
 * - BUCKETMOVE_TEST_STATE set: the path of a state file (the rig's shape, see migrator/rig/state.ts) describing an
 *   S3-compatible endpoint with the two accounts already set up; it is used as is and nothing is started or stopped.
 * - Otherwise a fresh rig is started in a temp dir (its own state file there, so a developer's rig is never touched)
 *   and stopped by global-teardown.ts; also on SIGINT/SIGTERM/SIGHUP and on any exit of this process, and by the
 *   rig's watchdog if this process is killed outright.
 *
 * Either way the workers get the state file's path in BUCKETMOVE_RIG_STATE, so `endpoint: "rig"` resolves to it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadWorkspace } from '../../../workspaces/load';
import { killDaemons, removeRigDir } from '../../../migrator/rig/cluster';
import { startRig } from '../../../migrator/rig/rig';
import { readRigState, RIG_STATE_ENV } from '../../../migrator/src/aws/rig-state';

export const TEST_STATE_ENV = 'BUCKETMOVE_TEST_STATE';

/** What teardown needs, shared through the global object (setup and teardown run in the same process). */
export interface TestRig {
  statePath: string;
  /** Whether this run started the rig (and so must stop it). */
  owned: boolean;
  dir?: string;
  pids?: Record<string, number>;
}

declare global {
  var __bucketmoveTestRig: TestRig | undefined;
}

const SIGNALS: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
];

/** Kills the run's rig synchronously (the only kind of work an 'exit' listener can do). */
export function killTestRigNow(): void {
  const rig = globalThis.__bucketmoveTestRig;
  if (!rig?.owned || !rig.dir || !rig.pids) return;
  killDaemons(rig.pids, rig.dir);
  removeRigDir(rig.dir);
  globalThis.__bucketmoveTestRig = undefined;
}

function onSignal(signal: NodeJS.Signals, number: number): void {
  killTestRigNow();
  process.stderr.write(`\nintegration tests: ${signal}: the local S3 rig was stopped\n`);
  process.exit(128 + number);
}

export default async function globalSetup(): Promise<void> {
  const external = process.env[TEST_STATE_ENV];
  if (external) {
    const statePath = path.resolve(external);
    const state = readRigState(statePath);
    process.env[RIG_STATE_ENV] = statePath;
    globalThis.__bucketmoveTestRig = { statePath, owned: false };
    process.stderr.write(`\nintegration tests: using the S3 endpoint ${state.endpoint} of ${statePath}\n`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-test-rig-'));
  const statePath = path.join(dir, 'state.json');
  globalThis.__bucketmoveTestRig = { statePath, owned: true, dir };
  process.on('exit', killTestRigNow);
  for (const [signal, number] of SIGNALS) process.once(signal, () => onSignal(signal, number));
  try {
    const { state } = await startRig({ workspace: loadWorkspace('local'), statePath, dir, ownerPid: process.pid });
    globalThis.__bucketmoveTestRig.pids = state.pids;
    process.env[RIG_STATE_ENV] = statePath;
    const mib = Math.round((state.measured?.rssBytes ?? 0) / 1024 / 1024);
    process.stderr.write(
      `\nintegration tests: local S3 rig at ${state.endpoint} (started in ${state.measured?.startSeconds} s, ${mib} MiB)\n`,
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
