/**
 * The rig's install step: the Debian packages of a single-node Ceph RADOS Gateway, and the independent clients the
 * tests and benchmarks check with (the AWS CLI v2, rclone, curl, and Debian's Python with boto3 and cryptography).
 * Installs only what is missing, only on Debian, only as root, and says so; otherwise it says in one line what to run.
 * Another apt-get or dpkg holding the package lock (an unattended upgrade, a second terminal) is waited for, up to 5
 * minutes, with a line saying so; after that, one line says what to run once it has finished.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * A package and what shows it is installed: a program (on PATH, or an absolute path), or a module of Debian's Python.
 */
export type Need =
  { pkg: string; bin: string; pythonModule?: undefined } | { pkg: string; pythonModule: string; bin?: undefined };

/** What the rig itself runs. */
export const SERVER_PACKAGES: readonly Need[] = [
  { pkg: 'ceph-mon', bin: 'ceph-mon' },
  { pkg: 'ceph-osd', bin: 'ceph-osd' },
  { pkg: 'radosgw', bin: 'radosgw' },
  { pkg: 'ceph-common', bin: 'radosgw-admin' },
  { pkg: 'ceph-common', bin: 'ceph-authtool' },
  { pkg: 'ceph-base', bin: 'monmaptool' },
];

/** Debian's Python, which python3-boto3 and python3-cryptography install into. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * What the tests and benchmarks use as independent clients: Debian's AWS CLI v2 at /usr/bin/aws, rclone, curl, and
 * Debian's Python with boto3 (an S3 client of another language) and cryptography (Fernet and AES-GCM objects as the
 * legacy app made them).
 */
export const CLIENT_PACKAGES: readonly Need[] = [
  { pkg: 'awscli', bin: '/usr/bin/aws' },
  { pkg: 'rclone', bin: 'rclone' },
  { pkg: 'curl', bin: 'curl' },
  { pkg: 'python3-boto3', pythonModule: 'boto3' },
  { pkg: 'python3-cryptography', pythonModule: 'cryptography' },
];

export class InstallError extends Error {
  override readonly name = 'InstallError';
}

function onPath(bin: string): boolean {
  if (bin.includes('/')) return isExecutable(bin);
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  return dirs.some((dir) => dir && isExecutable(path.join(dir, bin)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Whether a need is met on this machine. */
export function isInstalled(need: Need): boolean {
  if (need.bin !== undefined) return onPath(need.bin);
  return (
    isExecutable(DEBIAN_PYTHON) &&
    spawnSync(DEBIAN_PYTHON, ['-c', `import ${need.pythonModule}`], { stdio: 'ignore' }).status === 0
  );
}

/** The packages whose need is not met, deduplicated, in order. */
export function missingPackages(needs: readonly Need[], installed: (need: Need) => boolean = isInstalled): string[] {
  return [...new Set(needs.filter((n) => !installed(n)).map((n) => n.pkg))];
}

export interface AptRun {
  status: number | null;
  /** stdout and stderr. */
  output: string;
}

export interface InstallDeps {
  /** Whether a need is met (default isInstalled). */
  readonly installed?: (need: Need) => boolean;
  readonly isDebian?: () => boolean;
  readonly isRoot?: () => boolean;
  /** Runs apt-get with these arguments (default: the real one, non-interactive). */
  readonly aptGet?: (args: string[]) => AptRun;
  readonly sleep?: (ms: number) => void;
  readonly now?: () => number;
  /** How long to wait for another apt-get or dpkg to release the package lock (default 5 minutes). */
  readonly lockWaitMs?: number;
}

/**
 * apt-get's words for "another apt-get or dpkg holds the lock" (dpkg's frontend lock, the lists lock, the archives
 * lock).
 */
const LOCK_HELD =
  /Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (the )?(administration )?directory|is another process using it/i;
const LOCK_POLL_MS = 5000;

function realAptGet(args: string[]): AptRun {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}` };
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const lastLine = (text: string) => text.trim().split('\n').pop()?.trim() || 'no output';

/**
 * Installs the missing packages with apt-get. Returns the packages installed (empty when nothing was missing).
 * Throws an InstallError with a one-line message where it cannot: not Debian, not root, the lock still held after the
 * wait, or apt-get failed.
 */
export function ensurePackages(
  needs: readonly Need[],
  log: (line: string) => void = () => {},
  deps: InstallDeps = {},
): string[] {
  const installed = deps.installed ?? isInstalled;
  const missing = missingPackages(needs, installed);
  if (!missing.length) return [];
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const isDebian = deps.isDebian ?? (() => fs.existsSync('/etc/debian_version') && onPath('apt-get'));
  const isRoot = deps.isRoot ?? (() => typeof process.getuid !== 'function' || process.getuid() === 0);
  if (!isDebian()) {
    throw new InstallError(
      `missing ${missing.join(', ')}, and this is not a Debian system: install Ceph (radosgw, ceph-mon, ceph-osd) and the AWS CLI v2 yourself, or point the tests at another S3 endpoint with BUCKETMOVE_TEST_STATE`,
    );
  }
  if (!isRoot()) {
    throw new InstallError(
      `missing Debian packages ${missing.join(', ')}: run \`sudo apt-get update && sudo ${command}\` (the rig installs them itself only as root)`,
    );
  }
  log(`installing ${missing.join(' ')} with apt-get (as root; once)`);
  const aptGet = deps.aptGet ?? realAptGet;
  const sleep = deps.sleep ?? sleepSync;
  const now = deps.now ?? Date.now;
  const waitMs = deps.lockWaitMs ?? 300_000;
  const deadline = now() + waitMs;
  let told = false;
  for (const args of [
    ['update', '-q'],
    ['install', '-y', '-q', '--no-install-recommends', ...missing],
  ]) {
    for (;;) {
      const run = aptGet(args);
      if (run.status === 0) break;
      if (!LOCK_HELD.test(run.output)) {
        throw new InstallError(
          `apt-get ${args[0]} failed (${lastLine(run.output)}): run \`apt-get update && ${command}\` by hand and retry`,
        );
      }
      if (now() >= deadline) {
        throw new InstallError(
          `another apt-get or dpkg still holds the package lock after ${Math.round(waitMs / 60_000)} min (${lastLine(run.output)}): once it has finished, run \`npm run rig -- install\` (or \`apt-get update && ${command}\`)`,
        );
      }
      if (!told)
        log(
          `another apt-get or dpkg holds the package lock (${lastLine(run.output)}): waiting for it, up to ${Math.round(waitMs / 60_000)} min`,
        );
      told = true;
      sleep(LOCK_POLL_MS);
    }
  }
  const still = missingPackages(needs, installed);
  if (still.length)
    throw new InstallError(`apt-get installed ${missing.join(' ')} but ${still.join(', ')} are still not usable`);
  return missing;
}

/** The Ceph release, e.g. "16.2.15", for the record. */
export function cephVersion(): string | undefined {
  try {
    return /ceph version (\S+)/.exec(execFileSync('radosgw', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}
