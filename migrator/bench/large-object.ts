/**
 * One large object copied by the migrator, where its time and CPU go, against a raw multipart PUT of as many bytes, on
 * a local rig of its own; and, with BENCH_BASE_DIST, against another build of the migrator (another checkout's dist/,
 * built by `npm run build` there): the A/B that tells whether a change to the large-object path pays.
 *
 * Each round, in turn and each into a fresh bucket (emptied after, RGW's garbage collected): the raw multipart PUT
 * (lib-storage, 8 MiB parts, 4 in flight, bytes made in memory: the rate issue 14's target names), this build's
 * migrator on the object (AES-256-GCM, one process, as `npm run migrate` runs it), and the other build's if given;
 * each round starts one tool further on (bench-rig.ts roundOrder), so that each takes each place in turn. For
 * each run: wall time, the client's CPU (user + sys, GNU time) and peak RSS, and the CPU the rig's daemons used meanwhile
 * (from /proc): on a machine where the server shares the cores, a copy is bound by the CPU of both, and this column
 * shows the server's part. Also the minor page faults of the client and of the rig's daemons, and what one page of
 * fresh memory costs the machine (bench-rig.ts freshPageMicros): on a virtual machine whose host backs a page only when
 * it is first touched, those faults are a large and varying share of both CPU columns. Medians of the rounds; the
 * first round warms the rig (its runs are the slowest) and counts like the others. With a base build: in how many
 * rounds this build was the faster of the two.
 *
 * Run: npm run bench:large-object (writes its section of BENCHMARKS.md). Sizes: BENCH_LARGE_MIB (1024), BENCH_ROUNDS
 * (6); BENCH_BASE_DIST=<another checkout>/dist.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ConfigError } from '../../workspaces/errors';
import { loadWorkspace, repoRoot } from '../../workspaces/load';
import { MIB } from '../../workspaces/units';
import { benchTempDir, gitRevision, machineLine, runBench, writeSection } from './benchmarks-md';
import {
  adminKeysEnv,
  adminSideClient,
  BENCH_MEMSTORE_BYTES,
  checkMemstoreFits,
  emptyBucket,
  freshPageMicros,
  median,
  rawMultipartPut,
  rigClient,
  roundOrder,
  runMeasured,
  seedGcmObject,
  serverUsage,
  withBenchRig,
  writeWorkspaces,
} from './bench-rig';

const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 1024) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const BASE_DIST = process.env.BENCH_BASE_DIST;
const MIGRATE_JS = 'migrator/src/cli/migrate.js';
const KEY = 'bench/large/scan.bin';

interface Sample {
  readonly seconds: number;
  readonly clientCpu?: number;
  readonly serverCpu: number;
  readonly peakRss?: number;
  /** The client's minor page faults (pages of fresh memory it touched). */
  readonly clientFaults?: number;
  readonly serverFaults: number;
}

interface Tool {
  readonly name: string;
  /** Copies (or writes) the object into `bucket`. */
  readonly run: (bucket: string) => Promise<Omit<Sample, 'serverCpu' | 'serverFaults'>>;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const fmt = (n: number, d = 0) => n.toFixed(d);

/** The migrate entry of a build's dist/ folder; a folder without one is refused in one line. */
function migrateEntry(dist: string): string {
  const entry = path.join(path.resolve(dist), MIGRATE_JS);
  if (!fs.existsSync(entry))
    throw new ConfigError(
      `BENCH_BASE_DIST: ${entry} does not exist: give the dist/ folder of a checkout built with npm run build`,
    );
  return entry;
}

async function main(): Promise<void> {
  const here = path.join(repoRoot(), 'dist', MIGRATE_JS);
  if (!fs.existsSync(here)) throw new Error('run `npm run build` first (npm run bench:large-object does)');
  const base = BASE_DIST ? migrateEntry(BASE_DIST) : undefined;
  if (!(LARGE_BYTES > 0) || !Number.isInteger(ROUNDS) || ROUNDS < 1)
    throw new ConfigError('BENCH_LARGE_MIB must be a positive number and BENCH_ROUNDS a whole number of 1 or more');
  // The legacy object and one run's copy at a time (each run's bucket is emptied after it).
  checkMemstoreFits(LARGE_BYTES * 2.1, 'BENCH_LARGE_MIB');
  const ws = loadWorkspace('local');
  const pageMicros = freshPageMicros();
  const samples = new Map<string, Sample[]>();
  await withBenchRig(
    'bucketmove-bench-large-',
    async ({ state, statePath, rigDir }) => {
      process.env.BUCKETMOVE_RIG_STATE = statePath;
      const admin = rigClient(state, 'primaryAdmin');
      const staticKeys = adminKeysEnv(state);
      const legacy = adminSideClient(ws, state, 'legacy');
      const gcmKey = randomBytes(32).toString('base64');
      log(`seeding one ${fmt(LARGE_BYTES / MIB)} MiB object (AES-256-GCM)...`);
      await seedGcmObject(legacy, KEY, LARGE_BYTES, gcmKey);
      legacy.destroy();

      /** A build's migrator on the object, into `bucket`, as one child process. */
      const migrator = (entry: string) => async (bucket: string) => {
        const work = benchTempDir('bucketmove-bench-large-run-');
        try {
          const wsDir = path.join(work, 'workspaces');
          writeWorkspaces(
            wsDir,
            { type: 'aes-256-gcm', keys: { env: 'BENCH_GCM_KEYS' }, aad: 'object-key' },
            { primaryBucket: bucket, staticCredentials: true },
          );
          const r = await runMeasured(
            process.execPath,
            [
              entry,
              ...['--env', 'local', '--prefix', 'bench/large/', '--workers', '1', '--progress', 'log'],
              ...['--checkpoint', path.join(work, 'cp.sqlite'), '--report', path.join(work, 'report')],
            ],
            {
              ...process.env,
              ...staticKeys,
              BENCH_GCM_KEYS: gcmKey,
              BUCKETMOVE_RIG_STATE: statePath,
              BUCKETMOVE_WORKSPACES_DIR: wsDir,
              BUCKETMOVE_LOG_LEVEL: 'warn',
            },
            { cpu: true },
          );
          if (r.code !== 0)
            throw new Error(`the migrator failed (${r.code}): ${r.out.trim().split('\n').slice(-6).join(' | ')}`);
          if (!/\(copied 1\)/.test(r.out)) throw new Error(`the migrator did not copy the object: ${r.out.trim()}`);
          return { seconds: r.seconds, clientCpu: r.cpuSeconds, peakRss: r.peakRss, clientFaults: r.minorFaults };
        } finally {
          fs.rmSync(work, { recursive: true, force: true });
        }
      };
      const tools: Tool[] = [
        {
          name: 'raw multipart PUT (lib-storage, 8 MiB parts, 4 in flight, bytes made in memory, in this process)',
          run: async (bucket) => {
            const before = process.resourceUsage();
            const t = process.hrtime.bigint();
            await rawMultipartPut(admin, bucket, KEY, LARGE_BYTES);
            const seconds = Number(process.hrtime.bigint() - t) / 1e9;
            const after = process.resourceUsage();
            return {
              seconds,
              clientCpu: (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6,
              clientFaults: after.minorPageFault - before.minorPageFault,
            };
          },
        },
        { name: `bucketmove migrate, this build (${gitRevision()})`, run: migrator(here) },
        ...(base
          ? [{ name: `bucketmove migrate, base build (${path.resolve(BASE_DIST!)})`, run: migrator(base) }]
          : []),
      ];

      for (let round = 1; round <= ROUNDS; round++) {
        for (const [i, tool] of roundOrder(tools, round)) {
          const bucket = `bench-large-r${round}-t${i}`;
          await admin.send(new CreateBucketCommand({ Bucket: bucket }));
          const before = serverUsage(state);
          const own = process.cpuUsage();
          const m = await tool.run(bucket);
          const ownCpu = process.cpuUsage(own);
          const server = serverUsage(state);
          const sample = {
            ...m,
            serverCpu: server.cpuSeconds - before.cpuSeconds,
            serverFaults: server.minorFaults - before.minorFaults,
          };
          await emptyBucket(admin, bucket, rigDir);
          log(
            `round ${round}/${ROUNDS}, ${tool.name}: ${fmt(sample.seconds, 2)} s, ${fmt(LARGE_BYTES / 1e6 / sample.seconds, 1)} MB/s, client CPU ${fmt(sample.clientCpu ?? NaN, 2)} s, server CPU ${fmt(sample.serverCpu, 2)} s, page faults client ${sample.clientFaults ?? '-'} server ${sample.serverFaults}; this process ${fmt((ownCpu.user + ownCpu.system) / 1e6, 2)} s`,
          );
          samples.set(tool.name, [...(samples.get(tool.name) ?? []), sample]);
        }
      }
    },
    { memstoreBytes: BENCH_MEMSTORE_BYTES },
  );

  const [rawName, hereName, baseName] = [...samples.keys()];
  const rawSeconds = median(samples.get(rawName)!.map((s) => s.seconds));
  const rows = [...samples].map(([tool, runs]) => {
    const seconds = median(runs.map((s) => s.seconds));
    const client = median(runs.map((s) => s.clientCpu ?? NaN));
    const server = median(runs.map((s) => s.serverCpu));
    const rss = runs.some((s) => s.peakRss) ? `${fmt(median(runs.map((s) => s.peakRss ?? 0)) / MIB)} MiB` : '-';
    const faults = (f: (s: Sample) => number | undefined) => {
      const xs = runs.map(f).filter((x): x is number => x !== undefined);
      return xs.length ? fmt(median(xs) / 1000) + 'k' : '-';
    };
    return `| ${tool} | ${fmt(seconds, 2)} s | ${fmt(LARGE_BYTES / 1e6 / seconds, 1)} | ${fmt(rawSeconds / seconds, 2)}x | ${fmt(client, 2)} s | ${fmt(server, 2)} s | ${faults((s) => s.clientFaults)} | ${faults((s) => s.serverFaults)} | ${rss} |`;
  });
  const all = (name: string) =>
    samples
      .get(name)!
      .map((s) => fmt(s.seconds, 2))
      .join(', ');
  const lines = [
    '## One large object: the migrator against a raw multipart PUT',
    '',
    `Command: \`BENCH_LARGE_MIB=${fmt(LARGE_BYTES / MIB)} BENCH_ROUNDS=${ROUNDS}${baseName ? ' BENCH_BASE_DIST=<another checkout>/dist' : ''} npm run bench:large-object\` (a local rig of its own).`,
    `Machine: ${machineLine()}; a page of fresh memory (4 KiB, first touched) cost it ${fmt(pageMicros, 2)} µs (bench-rig.ts freshPageMicros).`,
    `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
    '',
    `One ${fmt(LARGE_BYTES / MIB)} MiB AES-256-GCM object, ${ROUNDS} alternating rounds, each write into a fresh bucket (emptied`,
    "and RGW's garbage collected after it). The migrator is one process, start-up included. Client CPU: user + sys of",
    "the tool's process (GNU time; the raw PUT's from this process's own usage). Server CPU: what the rig's daemons used",
    'meanwhile (/proc). Page faults: the minor page faults of the client (GNU time; the raw PUT: this process) and of',
    "the rig's daemons (/proc), pages of fresh memory each touched: at the cost per page above, a share of the CPU",
    'columns. Medians.',
    '',
    '| tool | wall | MB/s | rate vs raw PUT | client CPU | server CPU | client page faults | server page faults | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Every round's wall time: raw PUT ${all(rawName)}; this build ${all(hereName)}${baseName ? `; base build ${all(baseName)}` : ''}.`,
  ];
  if (baseName) {
    const mine = samples.get(hereName)!;
    const theirs = samples.get(baseName)!;
    const faster = mine.filter((s, i) => s.seconds < theirs[i].seconds).length;
    lines.push(`This build was the faster of the two migrators in ${faster} of ${ROUNDS} rounds.`);
  }
  for (const l of lines) log(l);
  writeSection('large-object', lines.join('\n'));
}

runBench('large-object', main, {
  describe:
    'one large object copied by the migrator against a raw multipart PUT of as many bytes, with client and server CPU; with BENCH_BASE_DIST, against another build too',
  env: [
    ['BENCH_LARGE_MIB', 'the object, MiB (1024)'],
    ['BENCH_ROUNDS', 'alternating rounds (6)'],
    [
      'BENCH_BASE_DIST',
      "another checkout's dist/ folder (built there with npm run build): its migrator alternates with this one",
    ],
  ],
});
