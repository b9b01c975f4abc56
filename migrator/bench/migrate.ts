/**
 * The migrator benchmark against its real peers, in one run on one local rig and the same N x 64 KiB Fernet objects
 * (16 in flight), in alternating rounds (each starting one tool further on: bench-rig.ts roundOrder), each run into a
 * fresh new bucket:
 *   - the migrator (the built CLI: GET + decrypt + SHA-256 + PUT with If-None-Match, checkpoint, delete recheck), as
 *     one process, as one process with its per-object calls on the SDK's middleware stack (BUCKETMOVE_S3_HOT_PATH=sdk,
 *     aws/light-s3.ts), and with --workers (BENCH_WORKERS, default the available cores),
 *   - `rclone copy` between two remotes holding the two accounts' keys (the bytes pass through rclone: the run fails
 *     if its log shows a server-side copy), without decrypting,
 *   - the afternoon script: boto3 + cryptography MultiFernet + ThreadPoolExecutor(16) (peers/fernet_copy.py),
 *   - the raw SDK GET + PUT loop (peers/raw-get-put.ts): the ceiling of any copy through a Node client;
 * each as its own process, measured for wall time, CPU (user + sys of its process tree, GNU time) and peak RSS; medians
 * of the rounds and ratios against the migrator. Then one large object in alternating rounds: the migrator
 * (AES-256-GCM) against a raw multipart PUT of the same size and a raw GET piped into one PUT (the floor of any copy on
 * the rig); and optionally the migrator's peak RSS for many keys.
 * Server-side copiers (`aws s3 sync` or `rclone copy` within one account) are not peers of a decrypt-copy: left out.
 * Run: npm run bench:migrate (writes the table to BENCHMARKS.md). Sizes: BENCH_SMALL_COUNT (2000), BENCH_ROUNDS (3),
 * BENCH_WORKERS, BENCH_LARGE_MIB (512), BENCH_MANY_KEYS (0 = skipped); BENCH_CPU_PROF=<dir> profiles each migrator run
 * (cpuprofile-top.ts); BENCH_CPU_PIN=1 runs the tools on CPU 0 and the rig on the others (bench-rig.ts cpuPinFromEnv).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadWorkspace, repoRoot } from '../../workspaces/load';
import { HOT_PATH_ENV } from '../src/aws/light-s3';
import { createCodec } from '../src/codec';
import { generateFernetKey } from '../src/codec/fernet';
import { planObjects } from '../src/seed/plan';
import { seedLegacy } from '../src/seed/seeder';
import { parseSizeSpec } from '../src/seed/sizes';
import { startRig, stopRig } from '../rig/rig';
import type { RigState } from '../src/aws/rig-state';
import { benchTempDir, gitRevision, machineLine, onInterrupt, runBench, writeSection } from './benchmarks-md';
import {
  adminKeysEnv,
  adminSideClient,
  BENCH_MEMSTORE_BYTES,
  checkMemstoreFits,
  emptyBucket,
  median,
  CPU_PIN_ENV,
  cpuPinFromEnv,
  pinProcesses,
  rawMultipartPut,
  rigClient,
  roundOrder,
  runMeasured,
  seedGcmObject,
  serverCpuSeconds,
  writeWorkspaces,
  type Measured,
} from './bench-rig';
import { MIB } from '../../workspaces/units';

const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 512) * MIB;
const MANY_KEYS = Number(process.env.BENCH_MANY_KEYS ?? 0);
const CONCURRENCY = 16;
/** Issue 14's small-object target against the Python script: the check and the paragraph on the floor read it. */
const VS_PYTHON_TARGET = 1.3;
/** A prefix with no objects: each tool's run on it is its start-up alone. */
const EMPTY_PREFIX = 'bench/none/';
/** The migrator's --workers row: every core of this machine (BENCH_WORKERS to choose; 1 drops the row). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
const MIGRATE_JS = path.join(repoRoot(), 'dist/migrator/src/cli/migrate.js');
const RAW_GET_PUT_JS = path.join(repoRoot(), 'dist/migrator/bench/peers/raw-get-put.js');
const NODE_HTTP_GET_PUT_JS = path.join(repoRoot(), 'dist/migrator/bench/peers/node-http-get-put.js');
const FERNET_COPY_PY = path.join(repoRoot(), 'migrator/bench/peers/fernet_copy.py');
/** The CPUs of the measured tools under BENCH_CPU_PIN=1 (set by main); undefined: wherever the kernel puts them. */
let clientCpus: string | undefined;
/** Debian's python3, which has boto3 (the pyenv python3 on PATH does not). */
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

interface Row {
  readonly workload: string;
  readonly tool: string;
  readonly bytes: number;
  readonly m: Measured;
}

type Run = Measured & { code: number; out: string; serverCpuSeconds?: number; startCpuSeconds?: number };

const log = (s: string) => process.stderr.write(`${s}\n`);

async function timed(fn: () => Promise<unknown>): Promise<Measured> {
  const t = process.hrtime.bigint();
  await fn();
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9 };
}

function mustSucceed(what: string, r: Run): Run {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.out.trim().split('\n').slice(-12).join(' | ')}`);
  return r;
}

/** Where a peer reads and writes: the legacy bucket with the legacy account's keys, a new bucket with the primary's. */
interface PeerTarget {
  readonly state: RigState;
  readonly legacyBucket: string;
  readonly prefix: string;
  readonly newBucket: string;
}

function peerEnv(t: PeerTarget, fernetKeys: string): NodeJS.ProcessEnv {
  const { legacyAdmin, primaryAdmin } = t.state.principals;
  return {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    PEER_ENDPOINT: t.state.endpoint,
    PEER_REGION: t.state.region,
    PEER_SRC_BUCKET: t.legacyBucket,
    PEER_SRC_KEY_ID: legacyAdmin.accessKeyId,
    PEER_SRC_SECRET: legacyAdmin.secretAccessKey,
    PEER_DST_BUCKET: t.newBucket,
    PEER_DST_KEY_ID: primaryAdmin.accessKeyId,
    PEER_DST_SECRET: primaryAdmin.secretAccessKey,
    PEER_PREFIX: t.prefix,
    PEER_FERNET_KEYS: fernetKeys,
    PEER_THREADS: String(CONCURRENCY),
  };
}

/**
 * rclone copy between two remotes, one per account. rclone copies server-side across remotes only with
 * --server-side-across-configs (not given); the -v log names each transfer ("Copied (new)", or "Copied (server-side
 * copy)"), and the run fails unless every object was a client-side transfer.
 */
async function rcloneCopy(t: PeerTarget, expected: number): Promise<Run> {
  const remote = (name: string, who: 'legacyAdmin' | 'primaryAdmin') => {
    const p = t.state.principals[who];
    const pre = `RCLONE_CONFIG_${name.toUpperCase()}_`;
    return {
      [`${pre}TYPE`]: 's3',
      [`${pre}PROVIDER`]: 'Ceph',
      [`${pre}ENDPOINT`]: t.state.endpoint,
      [`${pre}REGION`]: t.state.region,
      [`${pre}ACCESS_KEY_ID`]: p.accessKeyId,
      [`${pre}SECRET_ACCESS_KEY`]: p.secretAccessKey,
    };
  };
  const env = {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    RCLONE_CONFIG: '/dev/null',
    ...remote('legacy', 'legacyAdmin'),
    ...remote('primary', 'primaryAdmin'),
  };
  const args = [
    'copy',
    '-v',
    '--transfers',
    String(CONCURRENCY),
    '--checkers',
    String(CONCURRENCY),
    '--s3-server-side-encryption',
    'AES256',
    `legacy:${t.legacyBucket}/${t.prefix}`,
    `primary:${t.newBucket}/${t.prefix}`,
  ];
  const r = mustSucceed('rclone copy', await runMeasured('rclone', args, env, { cpu: true, cpus: clientCpus }));
  const clientSide = (r.out.match(/: Copied \(new\)/g) ?? []).length;
  if (/server-side copy/i.test(r.out) || clientSide !== expected) {
    throw new Error(
      `rclone copy did not move every object through the client (${clientSide} of ${expected} "Copied (new)"): not a peer of a decrypt-copy`,
    );
  }
  return r;
}

async function migrator(
  statePath: string,
  wsDir: string,
  prefix: string,
  extraEnv: NodeJS.ProcessEnv,
  workers = 1,
): Promise<Run> {
  const work = benchTempDir('bucketmove-bench-mig-');
  try {
    const args = [
      MIGRATE_JS,
      '--env',
      'local',
      '--prefix',
      prefix,
      '--concurrency',
      String(CONCURRENCY),
      '--workers',
      String(workers),
      '--progress',
      'log',
      '--checkpoint',
      path.join(work, 'cp.sqlite'),
      '--report',
      path.join(work, 'report'),
    ];
    const env = {
      ...process.env,
      BUCKETMOVE_RIG_STATE: statePath,
      BUCKETMOVE_WORKSPACES_DIR: wsDir,
      BUCKETMOVE_LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    // BENCH_CPU_PROF=<dir>: each migrator run writes a V8 CPU profile there (summarise it with cpuprofile-top.js).
    const prof = process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_CPU_PROF)]
      : [];
    return mustSucceed(
      'the migrator',
      await runMeasured(process.execPath, [...prof, ...args], env, { cpu: true, cpus: clientCpus }),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 0) => n.toFixed(d);
const mib = (b?: number) => (b === undefined ? '-' : `${fmt(b / MIB)} MiB`);

async function main(): Promise<void> {
  for (const f of [MIGRATE_JS, RAW_GET_PUT_JS, NODE_HTTP_GET_PUT_JS])
    if (!fs.existsSync(f)) throw new Error('run `npm run build` first (npm run bench:migrate does)');
  const pin = cpuPinFromEnv();
  clientCpus = pin?.client;
  // What memstore holds at once: the legacy objects and one run's copies (each run's bucket is emptied after it:
  // emptyBucket), at most a Fernet token's 88 KiB per 64 KiB object (rclone copies the stored bytes).
  checkMemstoreFits(
    SMALL_COUNT * 88 * 1024 * 2 + LARGE_BYTES * 2 + MANY_KEYS * 2 * 2048,
    'BENCH_LARGE_MIB, BENCH_ROUNDS or BENCH_SMALL_COUNT',
  );
  const dir = benchTempDir('bucketmove-bench-');
  const statePath = path.join(dir, 'state.json');
  const ws = loadWorkspace('local');
  const loadAtStart = os.loadavg()[0];
  const small = `${SMALL_COUNT} x 64 KiB`;
  const smallRuns = new Map<string, Run[]>();
  const largeRuns = new Map<string, Array<Measured & { startSeconds?: number }>>();
  const rows: Row[] = [];
  try {
    log('starting a rig...');
    const rigDir = path.join(dir, 'rig');
    fs.mkdirSync(rigDir);
    onInterrupt(() => stopRig(statePath));
    const { state } = await startRig({
      workspace: ws,
      statePath,
      dir: rigDir,
      memstoreBytes: BENCH_MEMSTORE_BYTES,
      ownerPid: process.pid,
    });
    process.env.BUCKETMOVE_RIG_STATE = statePath;
    if (pin) {
      pinProcesses(Object.values(state.pids ?? {}), pin.server);
      log(`pinned: the rig's daemons on CPU ${pin.server}, each measured tool on CPU ${pin.client}`);
    }
    const admin = rigClient(state, 'primaryAdmin');

    const fernetKey = generateFernetKey();
    const gcmKey = randomBytes(32).toString('base64');
    const keysEnv = { BENCH_FERNET_KEYS: fernetKey, BENCH_GCM_KEYS: gcmKey };
    // Every tool reads and writes with the same keys, static (no STS): the legacy account's admin and the primary's.
    const staticKeys = adminKeysEnv(state);
    const legacyWriter = adminSideClient(ws, state, 'legacy');

    // ---- N x 64 KiB, alternating rounds, a fresh new bucket per run ------------------------------------------------
    log(`${small}: seeding the legacy bucket (Fernet)...`);
    const prefix = 'bench/small/';
    const codec = createCodec(
      { type: 'fernet', keys: { env: 'X' }, storage: 'base64url-text', maxObjectBytes: 256 * MIB },
      [fernetKey],
      dir,
    );
    await seedLegacy({
      client: legacyWriter,
      codec,
      objects: planObjects({ count: SMALL_COUNT, size: parseSizeSpec('64KiB'), oddKeys: false, seed: 'bench', prefix }),
      seed: 'bench',
      concurrency: 32,
    });
    /** The migrator on the Fernet objects into `newBucket`, with `extraEnv` and `workers`. */
    const fernetMigrator = (newBucket: string, from: string, extraEnv: NodeJS.ProcessEnv, workers?: number) => {
      const wsDir = path.join(dir, `ws-${newBucket}`);
      writeWorkspaces(
        wsDir,
        { type: 'fernet', keys: { env: 'BENCH_FERNET_KEYS' }, storage: 'base64url-text' },
        { primaryBucket: newBucket, staticCredentials: true },
      );
      return migrator(statePath, wsDir, from, { ...keysEnv, ...staticKeys, ...extraEnv }, workers);
    };
    /** A peer script as its own process, from `from` into `newBucket`, with the PEER_* environment (peerEnv). */
    const peer =
      (what: string, cmd: string, script: string) =>
      async (newBucket: string, from: string): Promise<Run> =>
        mustSucceed(
          what,
          await runMeasured(
            cmd,
            [script],
            peerEnv({ state, legacyBucket: ws.legacy.bucket, prefix: from, newBucket }, fernetKey),
            { cpu: true, cpus: clientCpus },
          ),
        );
    /** Each tool copies the objects under `from` into `newBucket`. */
    const tools: Array<[string, (newBucket: string, from: string) => Promise<Run>]> = [
      [
        `bucketmove migrate (Fernet, --concurrency ${CONCURRENCY})`,
        (newBucket, from) => fernetMigrator(newBucket, from, {}),
      ],
      [
        // The same run with the per-object calls on the SDK's middleware stack (light-s3.ts's switch): what the light
        // path saves, and the path to compare with when a fault needs bisecting.
        `bucketmove migrate, SDK request path (BUCKETMOVE_S3_HOT_PATH=sdk)`,
        (newBucket, from) => fernetMigrator(newBucket, from, { [HOT_PATH_ENV]: 'sdk' }),
      ],
      [
        `bucketmove migrate --workers ${WORKERS} (${CONCURRENCY} in flight each)`,
        (newBucket, from) => fernetMigrator(newBucket, from, {}, WORKERS),
      ],
      [
        `rclone copy, one remote per account (--transfers ${CONCURRENCY}, no decrypt)`,
        (newBucket, from) =>
          rcloneCopy(
            { state, legacyBucket: ws.legacy.bucket, prefix: from, newBucket },
            from === prefix ? SMALL_COUNT : 0,
          ),
      ],
      [
        `Python script: boto3 + MultiFernet, ThreadPoolExecutor(${CONCURRENCY})`,
        peer('the Python script', PYTHON, FERNET_COPY_PY),
      ],
      [
        `raw SDK GET + PUT loop (${CONCURRENCY} in flight, no decrypt)`,
        peer('the raw GET + PUT loop', process.execPath, RAW_GET_PUT_JS),
      ],
      [
        `node:http GET + PUT loop (${CONCURRENCY} in flight, SigV4, no SDK per object, no decrypt)`,
        peer('the node:http GET + PUT loop', process.execPath, NODE_HTTP_GET_PUT_JS),
      ],
    ];
    if (WORKERS <= 1) tools.splice(2, 1);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, [tool, run]] of roundOrder(tools, round)) {
        const newBucket = `bench-r${round}-t${i}`;
        await admin.send(new CreateBucketCommand({ Bucket: newBucket }));
        log(`${small}, round ${round}/${ROUNDS}: ${tool}...`);
        // The same tool on a prefix with no objects first: its start-up (process, modules, preflight, listing), the
        // CPU any run pays once whatever its size.
        const idle = await run(newBucket, EMPTY_PREFIX);
        const serverBefore = serverCpuSeconds(state);
        const r = {
          ...(await run(newBucket, prefix)),
          serverCpuSeconds: serverCpuSeconds(state) - serverBefore,
          startCpuSeconds: idle.cpuSeconds,
        };
        await emptyBucket(admin, newBucket, rigDir);
        log(
          `  ${fmt(SMALL_COUNT / r.seconds)} objects/s, ${fmt((r.cpuSeconds! * 1000) / SMALL_COUNT, 2)} ms CPU per object (start-up ${fmt(r.startCpuSeconds!, 2)} s), server ${fmt((r.serverCpuSeconds * 1000) / SMALL_COUNT, 2)} ms, ${mib(r.peakRss)}`,
        );
        smallRuns.set(tool, [...(smallRuns.get(tool) ?? []), r]);
      }
    }

    // ---- one large object, alternating rounds, each write into a fresh bucket ---------------------------------------
    const large = `1 x ${fmt(LARGE_BYTES / MIB)} MiB`;
    log(`${large}: seeding the legacy bucket (AES-256-GCM)...`);
    const key = 'bench/large/scan.bin';
    await seedGcmObject(legacyWriter, key, LARGE_BYTES, gcmKey);
    /** The migrator on the large object, AES-256-GCM, into `newBucket`. */
    const largeMigrator = (newBucket: string, from: string, env: NodeJS.ProcessEnv) => {
      const wsDir = path.join(dir, `ws-${newBucket}`);
      writeWorkspaces(
        wsDir,
        { type: 'aes-256-gcm', keys: { env: 'BENCH_GCM_KEYS' }, aad: 'object-key' },
        { primaryBucket: newBucket, staticCredentials: true },
      );
      return migrator(statePath, wsDir, from, { ...keysEnv, ...staticKeys, ...env });
    };
    /** Each tool copies (or writes) the object into `newBucket`; `ownProcess`: a child process, with a start-up. */
    const largeTools: Array<[string, (newBucket: string, from: string) => Promise<Measured>, boolean]> = [
      [
        'raw multipart PUT (lib-storage, 8 MiB parts, 4 in flight; bytes made in memory, no GET)',
        (newBucket) => timed(() => rawMultipartPut(admin, newBucket, key, LARGE_BYTES)),
        false,
      ],
      [
        // Any copy reads the object and writes it; on a server sharing the cores, this is as fast as one can be.
        'raw GET piped into one PutObject (SDK, no decrypt, no hash: the fastest copy this server allows)',
        (newBucket) =>
          timed(async () => {
            const got = await legacyWriter.s3.send(new GetObjectCommand({ Bucket: legacyWriter.bucket, Key: key }));
            await admin.send(
              new PutObjectCommand({ Bucket: newBucket, Key: key, Body: got.Body, ContentLength: got.ContentLength }),
            );
          }),
        false,
      ],
      [
        'bucketmove migrate (AES-256-GCM; on this server one pass: one PUT in signed chunks)',
        (newBucket, from) => largeMigrator(newBucket, from, {}),
        true,
      ],
      [
        'bucketmove migrate, SDK request path (BUCKETMOVE_S3_HOT_PATH=sdk: two passes, one streamed PUT)',
        (newBucket, from) => largeMigrator(newBucket, from, { [HOT_PATH_ENV]: 'sdk' }),
        true,
      ],
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, [tool, run, ownProcess]] of roundOrder(largeTools, round)) {
        const newBucket = `bench-large-r${round}-t${i}`;
        await admin.send(new CreateBucketCommand({ Bucket: newBucket }));
        log(`${large}, round ${round}/${ROUNDS}: ${tool}...`);
        // A child process's start-up (process, modules, preflight, an empty listing): wall time on an empty prefix.
        const startSeconds = ownProcess ? (await run(newBucket, EMPTY_PREFIX)).seconds : undefined;
        const m = { ...(await run(newBucket, 'bench/large/')), startSeconds };
        await emptyBucket(admin, newBucket, rigDir);
        log(`  ${fmt(LARGE_BYTES / 1e6 / m.seconds, 1)} MB/s, ${fmt(m.seconds, 2)} s, ${mib(m.peakRss)}`);
        largeRuns.set(tool, [...(largeRuns.get(tool) ?? []), m]);
      }
    }

    // ---- many keys ---------------------------------------------------------------------------------------------
    if (MANY_KEYS > 0) {
      const many = `${MANY_KEYS} x 1 KiB`;
      log(`${many}: seeding the legacy bucket (Fernet)...`);
      await seedLegacy({
        client: legacyWriter,
        codec,
        objects: planObjects({
          count: MANY_KEYS,
          size: parseSizeSpec('1KiB'),
          oddKeys: false,
          seed: 'many',
          prefix: 'bench/many/',
        }),
        seed: 'many',
        concurrency: 64,
      });
      const fernetDir = path.join(dir, 'ws-fernet');
      writeWorkspaces(fernetDir, { type: 'fernet', keys: { env: 'BENCH_FERNET_KEYS' }, storage: 'base64url-text' });
      log(`${many}: the migrator...`);
      rows.push({
        workload: many,
        tool: `bucketmove migrate (Fernet, --concurrency ${CONCURRENCY})`,
        bytes: MANY_KEYS * 1024,
        m: await migrator(statePath, fernetDir, 'bench/many/', keysEnv),
      });
    }
    legacyWriter.destroy();
    admin.destroy();
  } finally {
    await stopRig(statePath);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // ---- the tables ---------------------------------------------------------------------------------------------------
  const summary = [...smallRuns].map(([tool, runs]) => ({
    tool,
    rates: runs.map((r) => SMALL_COUNT / r.seconds),
    rate: median(runs.map((r) => SMALL_COUNT / r.seconds)),
    cpuMs: median(runs.map((r) => (r.cpuSeconds! * 1000) / SMALL_COUNT)),
    startCpu: median(runs.map((r) => r.startCpuSeconds!)),
    beyondStartMs: median(runs.map((r) => ((r.cpuSeconds! - r.startCpuSeconds!) * 1000) / SMALL_COUNT)),
    serverCpuMs: median(runs.map((r) => (r.serverCpuSeconds! * 1000) / SMALL_COUNT)),
    rss: median(runs.map((r) => r.peakRss ?? NaN)),
  }));
  const mig = summary[0];
  const smallTable = summary.map(
    (s) =>
      `| ${s.tool} | ${fmt(s.rate)} | ${s.rates.map((x) => fmt(x)).join(' / ')} | ${fmt((s.rate * 64 * 1024) / 1e6, 1)} | ${fmt(s.cpuMs, 2)} | ${fmt(s.startCpu, 2)} | ${fmt(s.beyondStartMs, 2)} | ${fmt(s.serverCpuMs, 2)} | ${mib(s.rss)} | ${s === mig ? '1.00x' : `${fmt(mig.rate / s.rate, 2)}x`} |`,
  );
  const largeSummary = [...largeRuns].map(([tool, runs]) => {
    const seconds = median(runs.map((r) => r.seconds));
    const start = runs.every((r) => r.startSeconds !== undefined)
      ? median(runs.map((r) => r.startSeconds!))
      : undefined;
    return {
      tool,
      rates: runs.map((r) => LARGE_BYTES / 1e6 / r.seconds),
      rate: median(runs.map((r) => LARGE_BYTES / 1e6 / r.seconds)),
      seconds,
      start,
      beyondStartRate:
        start === undefined ? undefined : median(runs.map((r) => LARGE_BYTES / 1e6 / (r.seconds - r.startSeconds!))),
      rss: runs.some((r) => r.peakRss !== undefined) ? Math.max(...runs.map((r) => r.peakRss ?? 0)) : undefined,
    };
  });
  const largeTable = largeSummary.map(
    (l) =>
      `| 1 x ${fmt(LARGE_BYTES / MIB)} MiB | ${l.tool} | ${fmt(l.rate, 1)} | ${l.rates.map((x) => fmt(x, 1)).join(' / ')} | ${fmt(l.seconds, 1)} | ${l.start === undefined ? '-' : fmt(l.start, 2)} | ${l.beyondStartRate === undefined ? '-' : fmt(l.beyondStartRate, 1)} | ${mib(l.rss)} |`,
  );
  const manyTable = rows.map(
    (r) =>
      `| ${r.workload} | ${r.tool} | ${fmt(r.bytes / 1e6 / r.m.seconds, 1)} | - | ${fmt(r.m.seconds, 1)} | - | - | ${mib(r.m.peakRss)} |`,
  );
  for (const l of [...smallTable, ...largeTable, ...manyTable]) log(l);
  const byTool = (prefix: string) => summary.find((s) => s.tool.startsWith(prefix));
  const rateOf = (prefix: string) => byTool(prefix)?.rate ?? NaN;
  const largeOf = (prefix: string) => largeSummary.find((l) => l.tool.startsWith(prefix));
  const largeRate = (prefix: string) => largeOf(prefix)?.rate ?? NaN;
  const check = (what: string, got: string, want: string, ok: boolean) =>
    `| ${what} | ${got} | ${want} | ${ok ? 'met' : 'NOT met'} |`;
  const vsPy = mig.rate / rateOf('Python');
  const vsRclone = mig.rate / rateOf('rclone');
  const vsMultipart = largeRate('bucketmove') / largeRate('raw multipart');
  const rss = [
    mig.rss,
    largeOf('bucketmove')?.rss ?? NaN,
    ...rows.filter((r) => r.tool.startsWith('bucketmove')).map((r) => r.m.peakRss ?? NaN),
  ];
  const vsPipe = largeRate('bucketmove') / largeRate('raw GET piped');
  const pipeVsMultipart = largeRate('raw GET piped') / largeRate('raw multipart');
  const targets = [
    check(
      `objects/s vs the Python script (${small})`,
      `${fmt(vsPy, 2)}x`,
      `>= ${VS_PYTHON_TARGET}x`,
      vsPy >= VS_PYTHON_TARGET,
    ),
    check(`objects/s vs rclone (${small})`, `${fmt(vsRclone, 2)}x`, '>= 0.9x', vsRclone >= 0.9),
    check('client CPU per 64 KiB object', `${fmt(mig.cpuMs, 2)} ms`, '<= 2.5 ms', mig.cpuMs <= 2.5),
    check('peak RSS (every migrator run)', mib(Math.max(...rss)), '< 256 MiB', Math.max(...rss) < 256 * MIB),
    check(
      `MB/s vs the raw multipart PUT (1 x ${fmt(LARGE_BYTES / MIB)} MiB)`,
      `${fmt(vsMultipart, 2)}x`,
      '>= 0.8x',
      vsMultipart >= 0.8,
    ),
  ];
  // What the two cores allow: client and server share them, so a tool's rate is at most cores / (its client CPU +
  // the server CPU its requests cost) per object. The migrator's bound with no client CPU at all, against the peers'.
  const cores = os.availableParallelism();
  /** The CPUs the server has: all of them unpinned (shared with the tool), the server's own pinned. */
  const serverCores = pin ? pin.serverCount : cores;
  const py = byTool('Python');
  const floor = byTool('node:http');
  const bound = [
    ...(pin
      ? [
          `What the pinned CPUs allow: each tool has CPU ${pin.client} to itself and the server CPU ${pin.server}, so a tool copies at most`,
          `1000 / (client CPU per object, ms) objects per second, and at most ${pin.serverCount} x 1000 / (server CPU per object, ms). The server costs the migrator`,
        ]
      : [
          `What the ${cores} cores allow: the server and the tool share them, so a tool copies at most ${cores} / (client CPU + server`,
          'CPU per object) objects per second. The server costs the migrator',
        ]),
    `${fmt(mig.serverCpuMs, 2)} ms per object${py ? ` (the Python script ${fmt(py.serverCpuMs, 2)} ms: its PUT has no If-None-Match, checksum or provenance metadata)` : ''};`,
    `so even with no client CPU at all the migrator would copy at most ${fmt((serverCores * 1000) / mig.serverCpuMs)} objects/s here${py ? `, ${fmt((serverCores * 1000) / mig.serverCpuMs / py.rate, 2)}x the Python script's measured rate` : ''}.`,
    ...(floor
      ? [
          `The client's floor: the node:http loop spends ${fmt(floor.cpuMs, 2)} ms per object on the two requests alone (no SDK,`,
          `no decrypt; ${fmt(floor.beyondStartMs, 2)} ms beyond its start-up), against the migrator's ${fmt(mig.cpuMs, 2)} ms (${fmt(mig.beyondStartMs, 2)} ms beyond its`,
          `${fmt(mig.startCpu, 2)} s start-up). One process uses one core, so on a long run its own CPU caps one migrator process at about`,
          `${fmt(1000 / mig.beyondStartMs)} objects/s of this size, whatever the server (--workers adds processes).`,
        ]
      : []),
    // The floor against the Python script: how much of the floor's rate the target against it leaves room for.
    ...(floor && py
      ? [
          `The node:http loop copies at ${fmt(floor.rate / py.rate, 2)}x the Python script's rate here, with no decrypt, hash, checkpoint or`,
          `conditional write: the ${VS_PYTHON_TARGET}x target asks the migrator, which does all four, for ${fmt((100 * VS_PYTHON_TARGET * py.rate) / floor.rate)}% of that rate; it runs`,
          `at ${fmt((100 * mig.rate) / floor.rate)}%.`,
        ]
      : []),
  ];
  writeSection(
    'migrate',
    [
      '## Migrator against its peers',
      '',
      `Command: \`BENCH_SMALL_COUNT=${SMALL_COUNT} BENCH_ROUNDS=${ROUNDS} BENCH_WORKERS=${WORKERS} BENCH_LARGE_MIB=${LARGE_BYTES / MIB} BENCH_MANY_KEYS=${MANY_KEYS} npm run bench:migrate\` (one local rig).`,
      pin
        ? `Machine: ${machineLine()}; pinned (${CPU_PIN_ENV}=1): the S3 server (Ceph RGW 16, memstore) on CPU ${pin.server}, each measured tool on CPU ${pin.client}${WORKERS > 1 ? ` (the --workers row's ${WORKERS} workers share it)` : ''};`
        : `Machine: ${machineLine()}; the S3 server (Ceph RGW 16, memstore) runs on the same cores as the clients;`,
      `1-minute load average ${fmt(loadAtStart, 1)} when the run started (other processes included: absolute rates are`,
      'only as good as that; the ratios compare tools measured in alternating rounds of the same run, each round',
      'starting one tool further on).',
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      `${small} Fernet objects (base64url text), ${CONCURRENCY} in flight, ${ROUNDS} alternating rounds, each run into a fresh`,
      "new bucket, emptied after it is measured (with RGW's garbage collection: memstore keeps written data in RAM);",
      "every tool is its own process with the legacy account's keys for reading and the primary account's",
      "for writing. CPU is user + sys of the tool's process tree (GNU time); peak RSS its largest process; MB/s counts",
      'plaintext. The migrator does per object: GET, decrypt, SHA-256, PUT with If-None-Match, x-amz-checksum-sha256 and',
      "provenance metadata, a share of the delete recheck's listing, checkpoint writes; its per-object calls take the light",
      'request path (migrator/src/aws/light-s3.ts), and the "SDK request path" row is the same run on the SDK\'s middleware',
      'stack (BUCKETMOVE_S3_HOT_PATH=sdk). The Python script',
      '(migrator/bench/peers/fernet_copy.py) does GET, MultiFernet decrypt, PUT with SSE-S3, nothing else. rclone moves',
      'the stored bytes through the client without decrypting (its log is checked: every object "Copied (new)", none',
      'server-side). The raw SDK loop (migrator/bench/peers/raw-get-put.ts) GETs and PUTs the bytes unchanged through',
      'the SDK; the node:http loop (peers/node-http-get-put.ts) does the same with signed requests on node:http and no SDK',
      'per object: the floor of what the two requests cost any Node client. Server-side copiers (`aws s3 sync`, a',
      'same-account `rclone copy`) are left out: they never see the bytes, so they are no peers of a decrypt-copy.',
      "Server CPU is the rig's daemons' (radosgw, OSD, monitor) user + sys during the run, from /proc. Start-up CPU is the",
      "same tool's run on a prefix with no objects, just before (process, modules, preflight, an empty listing); the",
      'column after it is what each object adds on top: what caps a long run, where the start-up weighs nothing.',
      '',
      "| tool | objects/s (median) | per round | MB/s | client CPU per object, ms | start-up CPU, s | client CPU per object beyond start-up, ms | server CPU per object, ms | peak RSS | migrator's rate vs this |",
      '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
      ...smallTable,
      '',
      `One large object (AES-256-GCM), ${ROUNDS} alternating rounds, each write into a fresh bucket, emptied after. The raw`,
      "multipart PUT and the raw GET piped into one PUT run in the bench's own process (no start-up); the migrator is its",
      'own process, and its start-up is the wall time of its run on an empty prefix just before. The second row is the',
      "floor of any copy on this rig: the server's GET and PUT, nothing done to the bytes. RGW ignores If-None-Match on",
      'CompleteMultipartUpload, so the probe picks a single conditional PUT; it also finds that RGW checks SigV4 signed',
      'chunks, so the migrator reads the object once and streams it in signed chunks (provenance `signed-chunks`). Its',
      'SDK request path sends no signed chunks, so it reads the object twice: a hashing pass, then one streamed PUT whose',
      'metadata holds the SHA-256 (on S3 the probe finds the one-pass multipart path instead: bench:one-pass).',
      '',
      '| workload | tool | MB/s (median) | per round | seconds | start-up, s | MB/s beyond start-up | peak RSS |',
      '|---|---|---:|---|---:|---:|---:|---:|',
      ...largeTable,
      ...manyTable,
      '',
      '| target (issue 14) | measured | wanted | |',
      '|---|---:|---:|---|',
      ...targets,
      '',
      ...bound,
      '',
      `One large object: the fastest copy this server allows (a GET piped into one PUT, nothing else) runs at ${fmt(pipeVsMultipart, 2)}x the`,
      `raw multipart PUT's rate; the migrator at ${fmt(vsPipe, 2)}x that floor's rate, ${fmt(vsMultipart, 2)}x the raw multipart PUT's`,
      `(its two-pass SDK request path at ${fmt(largeRate('bucketmove migrate, SDK') / largeRate('raw multipart'), 2)}x).`,
    ].join('\n'),
  );
}

runBench('migrate', main, {
  describe:
    "The migrator (GET, decrypt, PUT with If-None-Match and SHA-256), alone and with --workers, against the peers a team would use instead, in alternating rounds into fresh buckets: rclone copy between two remotes with the two accounts' keys, a boto3 + MultiFernet thread-pool script, the raw SDK GET + PUT loop and the same loop on node:http without the SDK; objects/s, client CPU per object and peak RSS, medians and ratios; and one large object against a raw multipart PUT, on a local rig of its own",
  env: [
    ['BENCH_SMALL_COUNT', 'small objects (2000)'],
    ['BENCH_ROUNDS', 'rounds per tool (3)'],
    ['BENCH_WORKERS', "the --workers row's worker count (the available cores; 1 drops the row)"],
    ['BENCH_LARGE_MIB', 'the large object, MiB (512: with the rounds it must fit the rig memstore)'],
    ['BENCH_MANY_KEYS', 'keys for the peak RSS of many keys (0: skipped)'],
    ['BENCH_CPU_PROF', 'a folder: each migrator run writes a V8 CPU profile there'],
    [CPU_PIN_ENV, '1: the measured tools on CPU 0, the rig on the other CPUs (taskset; a CPU-true profile)'],
  ],
});
