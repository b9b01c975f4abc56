/**
 * What the benchmarks that run on a local rig share: a rig of their own in a temporary folder (started, then stopped
 * and removed, on Ctrl-C too), an S3 client as one of the rig's principals, a workspace folder with another codec, a
 * deterministic plaintext of any size (streamed), and a child process measured for its peak RSS.
 */
import { execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client, createSideClient, type SideClient } from '../src/aws/clients';
import { STATIC_KEY_ENV } from '../src/aws/credentials';
import type { Side } from '../src/aws/endpoint';
import { gcmEncryptStream } from '../src/codec/aes-gcm';
import type { Transport } from '../src/aws/http';
import type { RigState } from '../src/aws/rig-state';
import { MIB } from '../../workspaces/units';
import { radosgwAdmin } from '../rig/cluster';
import { startRig, stopRig } from '../rig/rig';
import { benchTempDir, onInterrupt } from './benchmarks-md';

export interface Measured {
  readonly seconds: number;
  readonly peakRss?: number;
  /** CPU seconds (user + sys) of the process and every descendant it waited for. */
  readonly cpuSeconds?: number;
  /**
   * Minor page faults of the same (GNU time %R): pages the process touched for the first time since the kernel gave
   * them, each a fault that costs what freshPageMicros measures.
   */
  readonly minorFaults?: number;
}

const GNU_TIME = '/usr/bin/time';

/** Which CPUs the measured tools run on, and which the rig's daemons run on (BENCH_CPU_PIN). */
export interface CpuPin {
  /** A taskset CPU list: the measured client processes. */
  readonly client: string;
  /** A taskset CPU list: the rig's daemons (and every thread they start later). */
  readonly server: string;
  /** How many CPUs `server` names. */
  readonly serverCount: number;
}

export const CPU_PIN_ENV = 'BENCH_CPU_PIN';

/**
 * BENCH_CPU_PIN=1: the measured tools on CPU 0, the rig's daemons on the other CPUs, so that neither preempts the
 * other. A CPU profile of a tool then counts its own CPU: unpinned, on cores shared with the server, the samples taken
 * while the tool waits for the core land on whatever it was running (its socket writes, mostly: BENCHMARKS.md, "Reading
 * a CPU profile"). Unset, "" or "0": no pinning. Needs 2 CPUs or more and taskset (util-linux).
 */
export function cpuPinFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  cpus = os.availableParallelism(),
): CpuPin | undefined {
  const v = env[CPU_PIN_ENV]?.trim();
  if (!v || v === '0') return undefined;
  if (v !== '1') throw new Error(`${CPU_PIN_ENV} must be 1 (pin) or 0 (do not), got "${v}"`);
  if (cpus < 2) throw new Error(`${CPU_PIN_ENV}=1 needs 2 CPUs or more (this machine has ${cpus}): unset it`);
  return { client: '0', server: cpus === 2 ? '1' : `1-${cpus - 1}`, serverCount: cpus - 1 };
}

/** Pins every thread of each process to `cpus` (taskset -a -p); the threads they start later inherit it. */
export function pinProcesses(pids: readonly number[], cpus: string): void {
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Runs a command, sampling its peak RSS (VmHWM) from /proc while it runs. With `cpu`, runs it under GNU time
 * (getrusage of the children: user + sys of the whole process tree, and the largest peak RSS among them) instead. With
 * `cpus`, on those CPUs only (taskset -c).
 */
export function runMeasured(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cpu?: boolean; cpus?: string } = {},
): Promise<Measured & { code: number; out: string }> {
  // taskset execs the command in its own process: GNU time and the RSS sampler measure the command itself.
  if (opts.cpus !== undefined) [cmd, args] = ['taskset', ['-c', opts.cpus, cmd, ...args]];
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const usageFile = opts.cpu
      ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-bench-time-')), 'usage')
      : undefined;
    const child = usageFile
      ? spawn(GNU_TIME, ['-f', '%U %S %M %R', '-o', usageFile, cmd, ...args], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let peak = 0;
    const sample = () => {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        if (kb) peak = Math.max(peak, Number(kb) * 1024);
      } catch {
        /* exited */
      }
    };
    const timer = usageFile ? undefined : setInterval(sample, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      if (!usageFile) return resolve({ seconds, peakRss: peak || undefined, code: code ?? -1, out });
      // GNU time writes "Command exited with non-zero status N" before the figures when the command failed.
      const figures = fs.readFileSync(usageFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      fs.rmSync(path.dirname(usageFile), { recursive: true, force: true });
      resolve({
        seconds,
        cpuSeconds: figures[0] + figures[1],
        peakRss: figures[2] * 1024,
        minorFaults: figures[3],
        code: code ?? -1,
        out,
      });
    });
  });
}

interface BenchRig {
  readonly state: RigState;
  readonly statePath: string;
  /** The temporary folder (the rig's files are in `rig/` below it), removed after the body. */
  readonly dir: string;
  /** The rig's own folder (what emptyBucket's garbage collection needs). */
  readonly rigDir: string;
}

/**
 * Runs `body` on a local rig of its own (workspaces/local.json), in a fresh temporary folder named `tempPrefix...`:
 * the rig is started here, then stopped and the folder removed when the body ends or throws, and on Ctrl-C.
 * `memstoreBytes`: the OSD's memstore, where a bench stores more than the rig's default holds (BENCH_MEMSTORE_BYTES).
 */
export async function withBenchRig<T>(
  tempPrefix: string,
  body: (rig: BenchRig) => Promise<T>,
  o: { memstoreBytes?: number } = {},
): Promise<T> {
  const dir = benchTempDir(tempPrefix);
  const statePath = path.join(dir, 'state.json');
  const rigDir = path.join(dir, 'rig');
  try {
    onInterrupt(() => stopRig(statePath));
    const { state } = await startRig({
      workspace: loadWorkspace('local'),
      statePath,
      dir: rigDir,
      memstoreBytes: o.memstoreBytes,
      ownerPid: process.pid,
    });
    return await body({ state, statePath, dir, rigDir });
  } finally {
    await stopRig(statePath).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds (user + sys) the rig's daemons (radosgw, the OSD, the monitor) have used so far, from /proc/<pid>/stat.
 * On this machine the server shares the cores with the tool measured, so a tool that costs the server more per object
 * leaves less CPU for itself: the difference shows here.
 */
export function serverCpuSeconds(state: Pick<RigState, 'pids'>): number {
  return serverUsage(state).cpuSeconds;
}

/**
 * The rig's daemons' CPU seconds (serverCpuSeconds) and minor page faults so far, from one read of /proc. The faults
 * (field 10 of /proc/<pid>/stat) are the pages of fresh memory they touched. On a machine where such a page is dear
 * (freshPageMicros), what a run makes the server allocate shows in its CPU: the OSD's memstore takes fresh pages for
 * every byte written, RGW for the buffers of a GET and a PUT.
 */
export function serverUsage(state: Pick<RigState, 'pids'>): { cpuSeconds: number; minorFaults: number } {
  const tick = 100; // USER_HZ on Linux
  const stats = daemonStats(state);
  return {
    // utime and stime: fields 14 and 15 of the line.
    cpuSeconds: stats.reduce((sum, f) => sum + (Number(f[14]) + Number(f[15])) / tick, 0),
    minorFaults: stats.reduce((sum, f) => sum + Number(f[10]), 0),
  };
}

/** Each daemon's /proc/<pid>/stat as fields numbered as proc(5) numbers them (1 = pid); the watchdog left out. */
function daemonStats(state: Pick<RigState, 'pids'>): string[][] {
  return Object.entries(state.pids ?? {})
    .filter(([role]) => role !== 'watchdog')
    .map(([, pid]) => {
      // The command name (field 2) may hold spaces: the fields after it start at field 3.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return ['', '', '', ...stat.slice(stat.lastIndexOf(')') + 2).split(' ')];
    });
}

/**
 * What touching one 4 KiB page of fresh memory costs this machine, in microseconds: `mib` MiB asked of the kernel and
 * written once, timed (the median of 3 such allocations, each a new one). A few tenths of a microsecond on a machine
 * whose RAM is its own; far more on a virtual machine whose host backs a page only when it is first touched and takes
 * it back when it is freed. Every run of a large copy makes the server and the client take fresh pages (their
 * minor page faults), so this figure moves a large copy's time from one machine to the next.
 */
export function freshPageMicros(mib = 64): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    // allocUnsafeSlow: its own allocation, above glibc's mmap threshold, so fresh pages from the kernel each time.
    Buffer.allocUnsafeSlow(mib * MIB).fill(1);
    runs.push(Number(process.hrtime.bigint() - t) / 1e3 / ((mib * MIB) / 4096));
  }
  return median(runs);
}

/**
 * The memstore of a bench's rig of its own (bench:migrate, bench:one-pass): RAM, and RGW frees deleted data only at
 * its garbage collection (hours later unless run by hand: emptyBucket), so every write a bench keeps stays in it, and
 * the machine's RAM in use grew by about twice what was stored (`free -m` during a run: about 11 GB in use with about
 * 4 GiB of 64 KiB objects stored). bench:migrate empties each run's bucket after measuring it; memstore takes RAM only
 * for what is stored, and this machine kind has 24 GiB.
 */
export const BENCH_MEMSTORE_BYTES = 14 * 1024 * MIB;

/**
 * Deletes every object of a bench run's bucket and runs RGW's garbage collection, which frees a large object's data
 * (its tail); outside any measured time. Without it a bench's writes pile up in memstore and the OSD's RAM with them:
 * one bench:migrate run with a second rig beside it swapped, and a 256 MiB copy took 324 s instead of 3.
 */
export async function emptyBucket(client: S3Client, bucket: string, rigDir: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length)
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await radosgwAdmin(rigDir, ['gc', 'process', '--include-all']);
}

/** The median of the rounds' figures (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * The tools of round `round` (1-based) in the order they run, each with its index in `tools`: the list rotated by one
 * place per round, so that each tool runs in each place in turn. A run's place in its round moves its time on the rig
 * (bench:large-object: in a fixed order the second of two runs of the same build measured the faster in 5 of 6 rounds),
 * so a fixed order would favour whichever tool sits in the better place.
 */
export function roundOrder<T>(tools: readonly T[], round: number): Array<[number, T]> {
  const shift = (((round - 1) % tools.length) + tools.length) % tools.length;
  return tools.map((_, k) => {
    const i = (k + shift) % tools.length;
    return [i, tools[i]];
  });
}

/**
 * The environment that gives the migrator (and every peer) the rig's two admin keys as static credentials
 * (aws/credentials.ts STATIC_KEY_ENV): no STS. RGW lets a bucket's owner read only the objects it wrote itself, so the
 * seeders write as the legacy admin too (adminSideClient).
 */
export function adminKeysEnv(state: RigState): Record<string, string> {
  const { legacyAdmin, primaryAdmin } = state.principals;
  return {
    [STATIC_KEY_ENV.legacy.accessKeyId]: legacyAdmin.accessKeyId,
    [STATIC_KEY_ENV.legacy.secretAccessKey]: legacyAdmin.secretAccessKey,
    [STATIC_KEY_ENV.primary.accessKeyId]: primaryAdmin.accessKeyId,
    [STATIC_KEY_ENV.primary.secretAccessKey]: primaryAdmin.secretAccessKey,
  };
}

/** A side's client (its bucket and S3 client) with the rig's admin keys (adminKeysEnv), as the benches seed with. */
export function adminSideClient(ws: LoadedWorkspace, state: RigState, side: Side): SideClient {
  return createSideClient({ ...ws, migration: { ...ws.migration, credentials: 'static' } }, side, {
    env: adminKeysEnv(state),
  });
}

/** Writes `bytes` of plaintextStream as one AES-256-GCM object (the key as AAD), as the legacy app would. */
export async function seedGcmObject(side: SideClient, key: string, bytes: number, gcmKeyBase64: string): Promise<void> {
  await new Upload({
    client: side.s3,
    params: {
      Bucket: side.bucket,
      Key: key,
      Body: plaintextStream(bytes).pipe(gcmEncryptStream(Buffer.from(gcmKeyBase64, 'base64'), Buffer.from(key))),
      ContentType: 'application/octet-stream',
    },
    partSize: 16 * MIB,
    queueSize: 2,
  }).done();
}

/** The peer of a large copy: `bytes` of plaintextStream PUT in parts of 8 MiB, 4 in flight (lib-storage), no GET. */
export async function rawMultipartPut(client: S3Client, bucket: string, key: string, bytes: number): Promise<void> {
  await new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: plaintextStream(bytes) },
    partSize: 8 * MIB,
    queueSize: 4,
  }).done();
}

/** Refuses, before the rig starts, sizes that would store more than that memstore holds (one line: what to lower). */
export function checkMemstoreFits(storedBytes: number, lower: string): void {
  if (storedBytes > 0.9 * BENCH_MEMSTORE_BYTES)
    throw new Error(
      `these sizes store about ${(storedBytes / 1024 / MIB).toFixed(1)} GiB in the rig's ${BENCH_MEMSTORE_BYTES / 1024 / MIB} GiB memstore: lower ${lower}`,
    );
}

/** An S3 client as one of the rig's principals (`transport`: e.g. more sockets than the default). */
export function rigClient(
  state: RigState,
  who: keyof RigState['principals'],
  transport?: Partial<Transport>,
): S3Client {
  const p = state.principals[who];
  return createS3Client({
    endpoint: state.endpoint,
    region: state.region,
    s3Compatible: true,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    transport,
  });
}

/** A deterministic plaintext stream of `size` bytes (a random MiB, repeated). */
export function plaintextStream(size: number): Readable {
  const block = randomBytes(MIB);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, MIB);
      left -= n;
      this.push(n === MIB ? block : block.subarray(0, n));
    },
  });
}

/**
 * Writes workspaces/local.json into `dir` with another `codec` (the folder is given as BUCKETMOVE_WORKSPACES_DIR), and
 * optionally another new bucket and static credentials (the keys then come from the environment, see aws/credentials).
 */
export function writeWorkspaces(
  dir: string,
  codec: object,
  opts: { primaryBucket?: string; staticCredentials?: boolean } = {},
): void {
  const { file: _file, ...plain } = loadWorkspace('local');
  const ws = {
    ...plain,
    codec,
    primary: { ...plain.primary, bucket: opts.primaryBucket ?? plain.primary.bucket },
    migration: opts.staticCredentials ? { ...plain.migration, credentials: 'static' } : plain.migration,
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify(ws, null, 2));
}
