/**
 * A throwaway single-node Ceph cluster with a RADOS Gateway on 127.0.0.1: one ceph-mon, one ceph-osd on memstore (data
 * in RAM), no ceph-mgr, and radosgw with the S3, IAM and STS APIs. Everything (config, keyring, data, sockets, logs)
 * lives in one directory; the daemons run in the foreground of processes this module spawns, so their PIDs are known
 * exactly, and stopping kills only those PIDs (after checking /proc that they are still our daemons).
 *
 * Settings and their reasons: beside each one below, and in migrator/rig/README.md.
 */
import { execFile, spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

/** The daemons of a rig, by role, and the program name /proc/PID/comm must show for each. */
export const DAEMON_COMM = { mon: 'ceph-mon', osd: 'ceph-osd', rgw: 'radosgw' } as const;
export type Daemon = keyof typeof DAEMON_COMM;

export interface ClusterOptions {
  /** An empty directory that will hold everything. */
  dir: string;
  /** SSE-KMS "testing" backend keys: name (the key id clients send) → base64 of 32 bytes. */
  kmsKeys: Record<string, string>;
  /** The shortest STS session RGW grants (AWS: 900). */
  stsMinSessionSeconds: number;
  /** The memstore capacity (data lives in RAM; this is the ceiling, not an allocation). */
  memstoreBytes: number;
  /** Log every RGW request to log/client.rgw.log (debug rgw = 1) instead of errors only. */
  verboseLogs: boolean;
  /** How long to wait for the gateway to answer. */
  readyTimeoutMs?: number;
}

export interface Cluster {
  endpoint: string;
  pids: Record<Daemon, number>;
}

/** A file that marks a directory as a rig's, so nothing else is ever removed. */
export const MARKER = '.bucketmove-rig';

/** Removes a directory only if it is a rig's (it holds the marker file). */
export function removeRigDir(dir: string): void {
  if (fs.existsSync(path.join(dir, MARKER))) fs.rmSync(dir, { recursive: true, force: true });
}

export class RigError extends Error {
  override readonly name = 'RigError';
}

/** A free TCP port on 127.0.0.1 (asks the kernel for one, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = `${stderr}`.trim().split('\n').filter(Boolean).pop() ?? err.message;
        reject(new RigError(`${path.basename(cmd)} ${args[0] ?? ''} failed: ${why}`));
      } else resolve(stdout);
    });
  });
}

function cephConf(o: ClusterOptions, fsid: string, monPort: number, rgwPort: number, stsKey: string): string {
  const d = o.dir;
  const kms = Object.entries(o.kmsKeys)
    .map(([name, key]) => `${name}=${key}`)
    .join(' ');
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
keyring = ${d}/keyring
run dir = ${d}/run
admin socket = ${d}/run/$name.$pid.asok
log file = ${d}/log/$name.log
log to stderr = false
err to stderr = true
mon data = ${d}/mon/$id
osd data = ${d}/osd/$id
osd objectstore = memstore
memstore device bytes = ${o.memstoreBytes}
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01

[client.rgw]
rgw data = ${d}/rgw
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw enable apis = s3, admin, sts, iam
rgw sts key = ${stsKey}
rgw s3 auth use sts = true
rgw sts min session duration = ${o.stsMinSessionSeconds}
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = ${kms}
rgw crypt require ssl = false
debug rgw = ${o.verboseLogs ? '1/5' : '0/5'}
`;
}

/** Starts the cluster. On any failure it kills what it started and throws a RigError with a one-line reason. */
export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const d = o.dir;
  for (const sub of ['mon/a', 'osd/0', 'run', 'log', 'rgw']) fs.mkdirSync(path.join(d, sub), { recursive: true });
  const conf = path.join(d, 'ceph.conf');
  const monPort = await freePort();
  let rgwPort = await freePort();
  while (rgwPort === monPort) rgwPort = await freePort();
  const fsid = randomUUID();
  const osdUuid = randomUUID();
  // RGW signs STS session tokens with this key; it must be exactly 16 characters.
  const stsKey = randomUUID().replace(/-/g, '').slice(0, 16);
  fs.writeFileSync(conf, cephConf(o, fsid, monPort, rgwPort, stsKey), { mode: 0o600 });

  const keyring = path.join(d, 'keyring');
  const keys: Array<[string, string[]]> = [
    ['mon.', ['--cap', 'mon', 'allow *']],
    ['client.admin', ['--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *']],
    ['osd.0', ['--cap', 'mon', 'allow profile osd', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow profile osd']],
    ['client.rgw', ['--cap', 'mon', 'allow rw', '--cap', 'osd', 'allow rwx', '--cap', 'mgr', 'allow rw']],
  ];
  for (const [i, [name, caps]] of keys.entries()) {
    await run('ceph-authtool', [...(i === 0 ? ['--create-keyring'] : []), keyring, '--gen-key', '-n', name, ...caps]);
  }
  fs.chmodSync(keyring, 0o600);
  const monmap = path.join(d, 'monmap');
  await run('monmaptool', ['--create', '--add', 'a', `v2:127.0.0.1:${monPort}`, '--fsid', fsid, monmap]);
  await Promise.all([
    run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]),
    run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid, '--no-mon-config']),
  ]);

  const children = new Map<Daemon, ChildProcess>();
  const exited: string[] = [];
  const launch = (daemon: Daemon, args: string[]) => {
    const out = fs.openSync(path.join(d, 'log', `${daemon}.out`), 'a');
    const child = spawn(DAEMON_COMM[daemon], ['-f', '-c', conf, ...args], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    child.on('exit', (code, signal) =>
      exited.push(
        `${DAEMON_COMM[daemon]} exited during start (${signal ?? `code ${code}`}); see ${path.join(d, 'log')}`,
      ),
    );
    child.on('error', (err) => exited.push(`${DAEMON_COMM[daemon]} did not start (${err.message})`));
    child.unref();
    children.set(daemon, child);
  };
  const pids = () => Object.fromEntries([...children].map(([k, c]) => [k, c.pid ?? 0])) as Record<Daemon, number>;

  try {
    launch('mon', ['-i', 'a']);
    // Registers the OSD; the CLI waits for the monitor to answer.
    await run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'new', osdUuid, '0'], 40_000).catch((err) => {
      throw new RigError(exited[0] ?? (err as Error).message);
    });
    launch('osd', ['-i', '0']);
    launch('rgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitForHttp(endpoint, o.readyTimeoutMs ?? 60_000, () => exited[0]);
    return { endpoint, pids: pids() };
  } catch (err) {
    killDaemons(pids(), d);
    throw err instanceof RigError ? err : new RigError((err as Error).message);
  }
}

/** Waits until GET / answers 200, failing early when `failed()` reports a dead daemon. */
async function waitForHttp(endpoint: string, timeoutMs: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new RigError(why);
    if ((await httpStatus(endpoint)) === 200) return;
    if (Date.now() > deadline) throw new RigError(`radosgw did not answer on ${endpoint} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The HTTP status of GET `url`, or 0 when nothing answers. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** What /proc says a PID is running: its program name and command line; undefined when it is gone or a zombie. */
export function procInfo(pid: number): { comm: string; cmdline: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
    return {
      comm: fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
      cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '),
    };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still the process we started: the expected program, and a command line naming our directory. */
export function isOurs(pid: number, comm: string, dir: string): boolean {
  const info = procInfo(pid);
  return !!info && info.comm === comm && info.cmdline.includes(dir);
}

/** The name /proc/PID/comm must show for a PID recorded under `role` in a state file. */
export function expectedComm(role: string): string | undefined {
  return role === 'watchdog' ? 'sh' : (DAEMON_COMM as Record<string, string>)[role];
}

/**
 * SIGKILLs the recorded PIDs that are still ours (checked in /proc: program name and our directory in the command
 * line), and returns the ones it killed. The data is throwaway, so there is no graceful shutdown (on SIGTERM the OSD
 * waits 5 s).
 */
export function killDaemons(pids: Record<string, number>, dir: string): number[] {
  const killed: number[] = [];
  for (const [role, pid] of Object.entries(pids)) {
    const comm = expectedComm(role);
    if (!comm || !pid || !isOurs(pid, comm, dir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** Waits (up to `timeoutMs`) until none of `pids` is alive. */
export async function waitGone(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((p) => procInfo(p))) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The resident memory of the given PIDs, summed (bytes). */
export function rssBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      total += kb ? Number(kb) * 1024 : 0;
    } catch {
      // Gone: counts as nothing.
    }
  }
  return total;
}

/** Runs radosgw-admin against the cluster in `dir`; returns its parsed JSON output. */
export async function radosgwAdmin(dir: string, args: string[]): Promise<unknown> {
  const out = await run('radosgw-admin', ['-c', path.join(dir, 'ceph.conf'), '-n', 'client.admin', ...args]);
  return out.trim() ? JSON.parse(out) : undefined;
}
