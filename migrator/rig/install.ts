/**
 * The rig's install step: the Debian packages of a single-node Ceph RADOS Gateway, and the independent S3 clients the
 * tests and benchmarks check with. Installs only what is missing, only on Debian, only as root; otherwise it says in one
 * line what to run.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** A package and the program that shows it is installed. */
export interface Need {
  pkg: string;
  bin: string;
}

/** What the rig itself runs. */
export const SERVER_PACKAGES: readonly Need[] = [
  { pkg: 'ceph-mon', bin: 'ceph-mon' },
  { pkg: 'ceph-osd', bin: 'ceph-osd' },
  { pkg: 'radosgw', bin: 'radosgw' },
  { pkg: 'ceph-common', bin: 'radosgw-admin' },
  { pkg: 'ceph-common', bin: 'ceph-authtool' },
  { pkg: 'ceph-base', bin: 'monmaptool' },
];

/** What the tests and benchmarks use as independent clients (Debian's AWS CLI v2 at /usr/bin/aws, rclone, curl). */
export const CLIENT_PACKAGES: readonly Need[] = [
  { pkg: 'awscli', bin: '/usr/bin/aws' },
  { pkg: 'rclone', bin: 'rclone' },
  { pkg: 'curl', bin: 'curl' },
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

/** The packages whose program is missing, deduplicated, in order. */
export function missingPackages(needs: readonly Need[], installed: (bin: string) => boolean = onPath): string[] {
  return [...new Set(needs.filter((n) => !installed(n.bin)).map((n) => n.pkg))];
}

/**
 * Installs the missing packages with apt-get. Returns the packages installed (empty when nothing was missing).
 * Throws an InstallError with a one-line message where it cannot: not Debian, not root, or apt-get failed.
 */
export interface InstallDeps {
  /** Whether a program is installed (default: executable on PATH, or at an absolute path). */
  readonly installed?: (bin: string) => boolean;
  readonly isDebian?: () => boolean;
  readonly isRoot?: () => boolean;
}

export function ensurePackages(needs: readonly Need[], log: (line: string) => void = () => {}, deps: InstallDeps = {}): string[] {
  const installed = deps.installed ?? onPath;
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
    throw new InstallError(`missing Debian packages ${missing.join(', ')}: run \`sudo apt-get update && sudo ${command}\` (the rig installs them itself only as root)`);
  }
  log(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...missing]]) {
    const run = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.status !== 0) {
      const why = (run.stderr || run.stdout || String(run.error ?? '')).trim().split('\n').pop() ?? 'unknown error';
      throw new InstallError(`apt-get ${args[0]} failed (${why}): run \`apt-get update && ${command}\` by hand and retry`);
    }
  }
  const still = missingPackages(needs, installed);
  if (still.length) throw new InstallError(`apt-get installed ${missing.join(' ')} but ${still.join(', ')} still lack their programs`);
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
