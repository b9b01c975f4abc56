/**
 * The local real S3 with two accounts: start, stop and inspect a rig (a throwaway Ceph RGW with the workspace's
 * tenants, users, buckets and roles), recorded in a state file. See cluster.ts for the daemons, accounts.ts for what is
 * created, state.ts for the file.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LoadedWorkspace } from '../../workspaces/load';
import { createAccounts, plannedUsers } from './accounts';
import {
  expectedComm,
  httpStatus,
  isOurs,
  killDaemons,
  MARKER,
  removeRigDir,
  RigError,
  rssBytes,
  startCluster,
  waitGone,
} from './cluster';
import { ensurePackages, SERVER_PACKAGES } from './install';
import { readRigState, removeRigState, REPO_ROOT, writeRigState, type RigState } from '../src/aws/rig-state';

/**
 * The rig's SSE-KMS key id: an ARN-shaped name (the workspace schema wants KMS key ARNs), fixed so that a workspace
 * file can name it; RGW's "testing" backend accepts any name. Its key material is random per rig.
 */
export const RIG_KMS_KEY_UUID = '6f1c2b9e-4d3a-4e8f-9b7c-2a5d8e1f0c34';
export const rigKmsKeyId = (region: string) => `arn:aws:kms:${region}:000000000000:key/${RIG_KMS_KEY_UUID}`;

export interface StartOptions {
  /** The workspace whose accounts the rig models (target "s3-compatible"). */
  readonly workspace: LoadedWorkspace;
  readonly statePath: string;
  /** An empty directory for everything; default a new one under the system temp dir. */
  readonly dir?: string;
  /** A watchdog stops the rig as soon as this process is gone (for test runs that may be killed). */
  readonly ownerPid?: number;
  /** The memstore ceiling (default 8 GiB; only what is stored uses RAM). */
  readonly memstoreBytes?: number;
  /** The shortest STS session granted (default 60 s; AWS allows 900 s at least). */
  readonly stsMinSessionSeconds?: number;
  /** Log every request in log/client.rgw.log. */
  readonly verboseLogs?: boolean;
  readonly log?: (line: string) => void;
}

export interface StartResult {
  readonly state: RigState;
  /** False when a healthy rig was already running at this state path and was reused. */
  readonly started: boolean;
}

export const DEFAULT_MEMSTORE_BYTES = 8 * 1024 ** 3;
export const DEFAULT_STS_MIN_SESSION_SECONDS = 60;

/** Whether the rig of a state is running: all its daemons alive and the endpoint answering. */
export async function isHealthy(state: RigState): Promise<boolean> {
  if (state.kind !== 'rig' || !state.pids || !state.dir) return false;
  const daemons = Object.entries(state.pids).filter(([role]) => role !== 'watchdog');
  if (!daemons.every(([role, pid]) => isOurs(pid, expectedComm(role) ?? '', state.dir!))) return false;
  return (await httpStatus(state.endpoint)) === 200;
}

export async function startRig(o: StartOptions): Promise<StartResult> {
  const log = o.log ?? (() => {});
  if (fs.existsSync(o.statePath)) {
    const previous = readRigState(o.statePath);
    if (previous.kind !== 'rig')
      throw new RigError(`${o.statePath} describes an external endpoint, not a rig: use another state path`);
    if (await isHealthy(previous)) return { state: previous, started: false };
    log(`cleaning up a stopped rig (${o.statePath})`);
    await stopRig(o.statePath);
  }
  plannedUsers(o.workspace); // a workspace the rig cannot model fails here, before anything starts
  ensurePackages(SERVER_PACKAGES, log);

  const t0 = process.hrtime.bigint();
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-rig-'));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (fs.readdirSync(dir).length) throw new RigError(`the rig directory ${dir} is not empty`);
  fs.writeFileSync(path.join(dir, MARKER), `${process.pid}\n`);
  let pids: Record<string, number> = {};
  try {
    const region = o.workspace.region;
    const kmsKeyId = rigKmsKeyId(region);
    const cluster = await startCluster({
      dir,
      kmsKeys: { [kmsKeyId]: randomBytes(32).toString('base64') },
      stsMinSessionSeconds: o.stsMinSessionSeconds ?? DEFAULT_STS_MIN_SESSION_SECONDS,
      memstoreBytes: o.memstoreBytes ?? DEFAULT_MEMSTORE_BYTES,
      verboseLogs: o.verboseLogs ?? false,
    });
    pids = { ...cluster.pids };
    const accounts = await createAccounts(o.workspace, dir, cluster.endpoint);
    const startSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (o.ownerPid) pids.watchdog = startWatchdog(o.ownerPid, dir, cluster.pids);
    const state: RigState = {
      version: 1,
      kind: 'rig',
      endpoint: cluster.endpoint,
      region,
      workspace: o.workspace.file,
      dir,
      pids,
      startedAt: new Date().toISOString(),
      ...accounts,
      kms: { keyId: kmsKeyId },
      sts: { minSessionSeconds: o.stsMinSessionSeconds ?? DEFAULT_STS_MIN_SESSION_SECONDS },
      measured: {
        startSeconds: Math.round(startSeconds * 1000) / 1000,
        rssBytes: rssBytes(Object.values(cluster.pids)),
      },
    };
    writeRigState(o.statePath, state);
    return { state, started: true };
  } catch (err) {
    await waitGone(killDaemons(pids, dir));
    if (process.env.BUCKETMOVE_RIG_KEEP !== '1') removeRigDir(dir);
    throw err;
  }
}

/**
 * Stops the rig of a state file: SIGKILLs its own PIDs (checked in /proc), removes its directory and the state file.
 * Returns the PIDs killed, or undefined when there is no state file. An external endpoint's state is left alone.
 */
export async function stopRig(statePath: string): Promise<number[] | undefined> {
  if (!fs.existsSync(statePath)) return undefined;
  const state = readRigState(statePath);
  if (state.kind !== 'rig') throw new RigError(`${statePath} describes an external endpoint; there is nothing to stop`);
  const killed = state.pids && state.dir ? killDaemons(state.pids, state.dir) : [];
  if (!(await waitGone(killed)))
    throw new RigError(`PIDs ${killed.join(', ')} survived SIGKILL; check them and remove ${state.dir} by hand`);
  if (state.dir) removeRigDir(state.dir);
  removeRigState(statePath);
  return killed;
}

/**
 * A detached shell (watchdog.sh) that SIGKILLs the rig's daemons and removes its directory once `ownerPid` is gone (a
 * test run killed with SIGKILL gets no chance to clean up itself), and exits by itself when the daemons are gone.
 */
function startWatchdog(ownerPid: number, dir: string, pids: Record<string, number>): number {
  const roles = Object.entries(pids).map(([role, pid]) => `${role}=${pid}`);
  const child = spawn(
    '/bin/sh',
    [path.join(REPO_ROOT, 'migrator', 'rig', 'watchdog.sh'), String(ownerPid), dir, ...roles],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  if (!child.pid) throw new RigError('could not start the rig watchdog');
  return child.pid;
}

export interface RigStatus {
  readonly state: RigState;
  readonly alive: Record<string, boolean>;
  readonly answering: boolean;
  readonly rssBytes: number;
}

export async function rigStatus(statePath: string): Promise<RigStatus | undefined> {
  if (!fs.existsSync(statePath)) return undefined;
  const state = readRigState(statePath);
  const alive = Object.fromEntries(
    Object.entries(state.pids ?? {}).map(([role, pid]) => [
      role,
      !!state.dir && isOurs(pid, expectedComm(role) ?? '', state.dir),
    ]),
  );
  const daemonPids = Object.entries(state.pids ?? {})
    .filter(([role]) => role !== 'watchdog')
    .map(([, pid]) => pid);
  return { state, alive, answering: (await httpStatus(state.endpoint)) !== 0, rssBytes: rssBytes(daemonPids) };
}
