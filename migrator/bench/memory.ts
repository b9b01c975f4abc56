/**
 * Memory, measured: the peak RSS of copying one object, per codec and object size, on a local rig,
 *   - through the CLI (`npm run migrate`, its default --memory, a process of its own), against --memory + its baseline
 *     (the peak RSS of the same CLI copying one 1 KiB object: start-up, the SDK, SQLite, the codec);
 *   - through the Batch Operations function: the built bundle (`npm run build:lambda`) in a process of its own with the
 *     V8 limits Lambda's Node.js bootstrap sets for the function's memory (old space 90%, semi space 5%: the runtime's
 *     bootstrap script, see gist.github.com/davidjb/432ea4e1c89f399ec412270539fe126f for node20.x), one warm-up task,
 *     then the task measured (bench/lambda-task.ts), against the function's memory.
 * Each object is written to the legacy bucket as the legacy app wrote it (Python's form: Fernet base64url text, AES-GCM
 * nonce|ciphertext|tag), with the oldest key where the codec has rotated keys; the copies are deleted after each run.
 *
 * Run: npm run bench:memory (writes the "memory" section of BENCHMARKS.md). BENCH_MEMORY_MIB (1,64,256,1024),
 * BENCH_MEMORY_CODECS (all: fernet,fernet-rotated,gcm,gcm-rotated), BENCH_FUNCTION_MB (1024). To measure another
 * revision with the same objects (the "before" table), build it elsewhere and give BENCH_MEMORY_DIST=<its dist folder>
 * and BENCH_MEMORY_REVISION=<a label> (its migrate.js and lambda bundle are used; the "memory-before" section is
 * written; BENCH_FERNET_STORAGE=base64url-text for a revision without storage "auto"; BENCH_MAX_OBJECT_MIB sets
 * codec.maxObjectBytes).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { loadWorkspace, repoRoot, type LoadedWorkspace } from '../../workspaces/load';
import { WORKSPACE_ENV_VAR } from '../../workspaces/batch-layout';
import { createSideClient } from '../src/aws/clients';
import { DEFAULT_MEMORY_BYTES } from '../src/migrate/migrate-workspace';
import { gcmEncryptStream, parseAesKeys } from '../src/codec/aes-gcm';
import { fernetEncryptStream, generateFernetKey, parseFernetKeys } from '../src/codec/fernet';
import { radosgwAdmin } from '../rig/cluster';
import { startRig, stopRig } from '../rig/rig';
import { benchTempDir, gitRevision, machineLine, onInterrupt, runBench, writeSection } from './benchmarks-md';
import { plaintextStream, rigClient, runMeasured, writeWorkspaces } from './bench-rig';
import { MIB } from '../../workspaces/units';

const SIZES_MIB = (process.env.BENCH_MEMORY_MIB ?? '1,64,256,1024').split(',').map(Number);
const FUNCTION_MB = Number(process.env.BENCH_FUNCTION_MB ?? 1024);
const MEMORY_MIB = DEFAULT_MEMORY_BYTES / MIB;
const DIST = path.resolve(process.env.BENCH_MEMORY_DIST ?? path.join(repoRoot(), 'dist'));
const OTHER_REVISION = process.env.BENCH_MEMORY_DIST !== undefined;
const MIGRATE_JS = path.join(DIST, 'migrator/src/cli/migrate.js');
const BUNDLE_JS = path.join(DIST, 'lambda/batch-copy/index.js');
const LAMBDA_TASK_JS = path.join(repoRoot(), 'dist/migrator/bench/lambda-task.js');
const FERNET_STORAGE = process.env.BENCH_FERNET_STORAGE ?? 'auto';
/** Also, for the first codec: this many objects of MANY_MIB copied at once by the CLI (its budget full). */
const MANY = Number(process.env.BENCH_MEMORY_MANY ?? 6);
const MANY_MIB = 64;

const log = (s: string) => process.stderr.write(`${s}\n`);
const mib = (b: number) => `${(b / MIB).toFixed(0)} MiB`;

interface CodecCase {
  readonly id: string;
  readonly label: string;
  /** The workspace's codec setting. */
  readonly codec: object;
  /** The key variable and its value (newest first). */
  readonly keysEnv: Record<string, string>;
  /** Encrypts a plaintext stream as the legacy app did (with the oldest key). */
  encrypt(plain: Readable, key: string): Readable;
}

function codecCases(): CodecCase[] {
  const [fNew, fOld] = [generateFernetKey(), generateFernetKey()];
  const [gNew, gOld] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const bound = process.env.BENCH_MAX_OBJECT_MIB
    ? { maxObjectBytes: Number(process.env.BENCH_MAX_OBJECT_MIB) * MIB }
    : {};
  const fernet = { type: 'fernet', keys: { env: 'BENCH_FERNET_KEYS' }, storage: FERNET_STORAGE, ...bound };
  const gcm = { type: 'aes-256-gcm', keys: { env: 'BENCH_GCM_KEYS' }, aad: 'object-key', ...bound };
  const fernetText = (k: string) => (plain: Readable) =>
    plain.pipe(fernetEncryptStream(parseFernetKeys([k])[0], 'base64url-text'));
  const gcmBlob = (k: string) => (plain: Readable, key: string) =>
    plain.pipe(gcmEncryptStream(parseAesKeys([k])[0], Buffer.from(key)));
  const all: CodecCase[] = [
    {
      id: 'fernet',
      label: `Fernet (text tokens, storage ${FERNET_STORAGE}), one key`,
      codec: fernet,
      keysEnv: { BENCH_FERNET_KEYS: fOld },
      encrypt: fernetText(fOld),
    },
    {
      id: 'fernet-rotated',
      label: 'Fernet, rotated keys (object under the old one)',
      codec: fernet,
      keysEnv: { BENCH_FERNET_KEYS: `${fNew},${fOld}` },
      encrypt: fernetText(fOld),
    },
    { id: 'gcm', label: 'AES-256-GCM, one key', codec: gcm, keysEnv: { BENCH_GCM_KEYS: gOld }, encrypt: gcmBlob(gOld) },
    {
      id: 'gcm-rotated',
      label: 'AES-256-GCM, rotated keys (object under the old one)',
      codec: gcm,
      keysEnv: { BENCH_GCM_KEYS: `${gNew},${gOld}` },
      encrypt: gcmBlob(gOld),
    },
  ];
  const wanted = (process.env.BENCH_MEMORY_CODECS ?? all.map((c) => c.id).join(',')).split(',');
  return all.filter((c) => wanted.includes(c.id));
}

interface Row {
  readonly codec: CodecCase;
  readonly sizeMib: number;
  /** Objects copied at once (1 but for the "many" row, CLI only). */
  readonly count: number;
  readonly cli: { peak: number; baseline: number; outcome: string };
  readonly fn: { peak: number; baseline: number; outcome: string };
}

/** Every size of one codec, on a rig of its own. */
async function measureCodec(c: CodecCase, dir: string, ws: LoadedWorkspace, many: number): Promise<Row[]> {
  const rows: Row[] = [];
  const statePath = path.join(dir, 'state.json');
  const rigDir = path.join(dir, 'rig');
  fs.mkdirSync(rigDir, { recursive: true });
  log(`${c.id}: starting a rig...`);
  const stopOnInterrupt = onInterrupt(() => stopRig(statePath));
  try {
    const { state } = await startRig({
      workspace: ws,
      statePath,
      dir: rigDir,
      memstoreBytes: 6 * 1024 * MIB,
      ownerPid: process.pid,
    });
    const legacy = createSideClient({ ...ws, migration: { ...ws.migration, credentials: 'static' } }, 'legacy', {
      env: {},
      rigState: state,
    });
    const primary = rigClient(state, 'primaryAdmin');
    const put = async (key: string, body: Readable) => {
      await new Upload({
        client: legacy.s3,
        params: { Bucket: legacy.bucket, Key: key, Body: body, ContentType: 'image/tiff' },
        partSize: 16 * MIB,
        queueSize: 2,
      }).done();
    };
    const remove = async (...objects: Array<[S3Client, string, string]>) => {
      for (const [s3, bucket, key] of objects) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await radosgwAdmin(rigDir, ['gc', 'process', '--include-all']);
    };
    const wsDir = path.join(dir, 'ws');
    writeWorkspaces(wsDir, c.codec);
    const env = {
      ...process.env,
      ...c.keysEnv,
      BUCKETMOVE_RIG_STATE: statePath,
      BUCKETMOVE_LOG_LEVEL: 'warn',
      BENCH_LEGACY_BUCKET: state.buckets.legacy,
      BUCKETMOVE_WORKSPACES_DIR: wsDir,
      [WORKSPACE_ENV_VAR]: functionWorkspace(wsDir),
    };
    const cli = async (prefix: string) => {
      const work = fs.mkdtempSync(path.join(dir, 'cli-'));
      const args = [
        MIGRATE_JS,
        '--env',
        'local',
        '--prefix',
        prefix,
        '--memory',
        String(MEMORY_MIB),
        '--progress',
        'log',
        '--checkpoint',
        path.join(work, 'cp.sqlite'),
        '--report',
        path.join(work, 'report'),
      ];
      const r = await runMeasured(process.execPath, args, env);
      // The report's ErrorCode column (Report_CSV_20180820: Bucket, Key, VersionId, TaskStatus, ErrorCode, ...) says
      // why.
      const csv = path.join(work, 'report.csv');
      const errorCode = fs.existsSync(csv) ? fs.readFileSync(csv, 'utf8').split('\n')[0]?.split(',')[4] : undefined;
      fs.rmSync(work, { recursive: true, force: true });
      return {
        peak: r.peakRss ?? NaN,
        outcome: r.code === 0 ? 'copied' : `exit ${r.code}, ${errorCode || r.out.trim().split('\n').pop()}`,
      };
    };
    const fn = async (warmKey: string, key: string) => {
      const r = await runMeasured(
        process.execPath,
        [...lambdaV8Flags(FUNCTION_MB), LAMBDA_TASK_JS, BUNDLE_JS, warmKey, key],
        env,
      );
      const line = r.out
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{'));
      if (r.code !== 0 || !line)
        return {
          peak: r.peakRss ?? NaN,
          baseline: NaN,
          outcome: `failed (exit ${r.code}): ${r.out.trim().split('\n').pop()}`,
        };
      const res = JSON.parse(line) as { baseline: number; peak: number; resultCode: string; result: string };
      const outcome =
        res.resultCode === 'Succeeded'
          ? 'copied'
          : `${res.resultCode}, ${(JSON.parse(res.result) as { code?: string }).code ?? res.result}`;
      return { peak: res.peak, baseline: res.baseline, outcome };
    };

    // The CLI's baseline: the same CLI copying one 1 KiB object; the function's warm-up object.
    const warmKey = `bench-memory/${c.id}/warm/photo.jpg`;
    await put(warmKey, c.encrypt(plaintextStream(1024), warmKey));
    log(`${c.id}: the CLI's baseline (one 1 KiB object)...`);
    const cliBaseline = (await cli(`bench-memory/${c.id}/warm/`)).peak;
    await remove([primary, state.buckets.primary, warmKey]);

    for (const sizeMib of SIZES_MIB) {
      const key = `bench-memory/${c.id}/${sizeMib}/scan.tif`;
      log(`${c.id}, ${sizeMib} MiB: writing the legacy object...`);
      await put(key, c.encrypt(plaintextStream(sizeMib * MIB), key));
      log(`${c.id}, ${sizeMib} MiB: the CLI...`);
      const viaCli = await cli(`bench-memory/${c.id}/${sizeMib}/`);
      await remove([primary, state.buckets.primary, key]);
      log(`${c.id}, ${sizeMib} MiB: the function (${FUNCTION_MB} MB)...`);
      const viaFn = await fn(warmKey, key);
      await remove(
        [primary, state.buckets.primary, key],
        [primary, state.buckets.primary, warmKey],
        [legacy.s3, legacy.bucket, key],
      );
      const row: Row = { codec: c, sizeMib, count: 1, cli: { ...viaCli, baseline: cliBaseline }, fn: viaFn };
      log(
        `  CLI peak ${mib(row.cli.peak)} (baseline ${mib(cliBaseline)}, ${viaCli.outcome}); function peak ${mib(viaFn.peak)} (baseline ${mib(viaFn.baseline)}, ${viaFn.outcome})`,
      );
      rows.push(row);
    }
    if (many > 0) {
      // The CLI with its budget full: MANY objects at once (--concurrency 16), as many as --memory lets in.
      const keys = Array.from({ length: many }, (_, i) => `bench-memory/${c.id}/many/scan-${i}.tif`);
      log(`${c.id}: ${many} x ${MANY_MIB} MiB at once: writing the legacy objects...`);
      for (const key of keys) await put(key, c.encrypt(plaintextStream(MANY_MIB * MIB), key));
      log(`${c.id}: ${many} x ${MANY_MIB} MiB at once: the CLI...`);
      const viaCli = await cli(`bench-memory/${c.id}/many/`);
      await remove(
        ...keys.flatMap((key): Array<[S3Client, string, string]> => [
          [primary, state.buckets.primary, key],
          [legacy.s3, legacy.bucket, key],
        ]),
      );
      log(`  CLI peak ${mib(viaCli.peak)} (baseline ${mib(cliBaseline)}, ${viaCli.outcome})`);
      rows.push({
        codec: c,
        sizeMib: MANY_MIB,
        count: many,
        cli: { ...viaCli, baseline: cliBaseline },
        fn: { peak: NaN, baseline: NaN, outcome: 'one task at a time' },
      });
    }
    legacy.destroy();
    primary.destroy();
  } finally {
    await stopRig(statePath);
    stopOnInterrupt();
  }
  return rows;
}

/** The workspace as the function receives it (bench-rig's local.json in `wsDir`, defaults filled in, no path). */
function functionWorkspace(wsDir: string): string {
  const { file: _file, ...doc } = loadWorkspace('local', wsDir);
  return JSON.stringify(doc);
}

/** V8's limits as Lambda's Node.js bootstrap sets them for a function of `mb` MB. */
const lambdaV8Flags = (mb: number) => [
  `--max-old-space-size=${Math.floor((mb * 90) / 100)}`,
  `--max-semi-space-size=${Math.floor((mb * 5) / 100)}`,
];

async function main(): Promise<void> {
  for (const f of [MIGRATE_JS, BUNDLE_JS, LAMBDA_TASK_JS]) {
    if (!fs.existsSync(f))
      throw new Error(`${f} is missing: run \`npm run build && npm run build:lambda\` (npm run bench:memory does)`);
  }
  const dir = benchTempDir('bucketmove-bench-memory-');
  const ws = loadWorkspace('local');
  const rows: Row[] = [];
  try {
    // A rig per codec, and RGW's garbage collection run after each delete: memstore holds every byte in RAM, and RGW
    // frees a deleted object's data only when its collector runs (hours later by default).
    for (const [i, c] of codecCases().entries())
      rows.push(...(await measureCodec(c, path.join(dir, c.id), ws, i === 0 ? MANY : 0)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const verdict = (ok: boolean) => (ok ? 'yes' : '**no**');
  const table = rows.map((r) => {
    const cliOk = r.cli.outcome === 'copied' && r.cli.peak <= r.cli.baseline + MEMORY_MIB * MIB;
    const fnOk = r.fn.outcome === 'copied' && r.fn.peak <= FUNCTION_MB * MIB;
    const cliCell =
      r.cli.outcome === 'copied'
        ? `${mib(r.cli.peak)} (+${mib(r.cli.peak - r.cli.baseline)})`
        : `${mib(r.cli.peak)}, ${r.cli.outcome}`;
    const fnCell =
      r.count > 1
        ? r.fn.outcome
        : r.fn.outcome === 'copied'
          ? `${mib(r.fn.peak)} (+${mib(r.fn.peak - r.fn.baseline)})`
          : `${mib(r.fn.peak)}, ${r.fn.outcome}`;
    const object = r.count > 1 ? `${r.count} x ${r.sizeMib} MiB at once` : `${r.sizeMib} MiB`;
    return `| ${object} | ${r.codec.label} | ${cliCell} | ${verdict(cliOk)} | ${fnCell} | ${r.count > 1 ? '' : verdict(fnOk)} |`;
  });
  const header = [
    `| object | codec | CLI peak RSS (over its baseline) | within --memory ${MEMORY_MIB} MiB + baseline | function peak RSS (over its baseline) | within ${FUNCTION_MB} MB |`,
    '|---:|---|---:|:---:|---:|:---:|',
  ];
  for (const l of [...header, ...table]) log(l);
  const baselines = [...new Set(rows.map((r) => r.cli.baseline))].map(mib).join(', ');
  const how = [
    `Machine: ${machineLine()}; the S3 server (Ceph RGW 16, memstore) runs on the same 2 cores. Memory does not depend on`,
    "the machine's load; no rate is given here (the cores were shared with other work).",
    '',
    `Each object is written as the legacy app wrote it (Fernet: base64url text; AES-GCM: nonce|ciphertext|tag, AAD the`,
    'object key), with the older key where the codec has rotated keys, then copied once through each path. CLI:',
    `\`npm run migrate -- --memory ${MEMORY_MIB}\` (8 MiB parts, 4 in flight), its peak RSS against its baseline (${baselines}: the`,
    `same CLI copying one 1 KiB object) + --memory. Function: the built bundle in a process with Lambda's V8 limits for`,
    `${FUNCTION_MB} MB (${lambdaV8Flags(FUNCTION_MB).join(' ')}), peak RSS of the task measured after a warm-up task, its baseline`,
    'the RSS before it.',
  ];
  if (OTHER_REVISION) {
    // A "before" measurement of another revision's build, in a section of its own.
    const label = process.env.BENCH_MEMORY_REVISION ?? DIST;
    writeSection(
      'memory-before',
      [
        `## Memory before this revision: ${label}`,
        '',
        `Command: \`BENCH_MEMORY_DIST=<that revision's dist> npm run bench:memory\` (the same objects and measurement as above, that revision's CLI`,
        `and function bundle; BENCH_MEMORY_MIB=${SIZES_MIB.join(',')}, BENCH_FERNET_STORAGE=${FERNET_STORAGE}, BENCH_MAX_OBJECT_MIB=${process.env.BENCH_MAX_OBJECT_MIB ?? 'unset'}). Date: ${new Date().toISOString().slice(0, 10)}.`,
        ...how,
        '',
        ...header,
        ...table,
      ].join('\n'),
    );
    return;
  }
  writeSection(
    'memory',
    [
      '## Memory: one object per codec and size',
      '',
      `Command: \`npm run bench:memory\` (BENCH_MEMORY_MIB=${SIZES_MIB.join(',')}, BENCH_FUNCTION_MB=${FUNCTION_MB}). Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      ...how,
      '',
      ...header,
      ...table,
    ].join('\n'),
  );
}

runBench('memory', main, {
  describe:
    "Peak RSS of copying one object per codec and size, through the CLI (against --memory + its baseline) and through the Batch Operations function bundle under Lambda's V8 limits, on a local rig per codec",
  env: [
    ['BENCH_MEMORY_MIB', 'object sizes, MiB (1,64,256,1024)'],
    ['BENCH_MEMORY_CODECS', 'codecs (fernet,fernet-rotated,gcm,gcm-rotated)'],
    ['BENCH_FUNCTION_MB', "the function's memory, MB (1024)"],
    [
      'BENCH_MEMORY_DIST, BENCH_MEMORY_REVISION',
      "another revision's dist folder and its label: writes the memory-before section",
    ],
    [
      'BENCH_FERNET_STORAGE, BENCH_MAX_OBJECT_MIB',
      'the Fernet storage and codec.maxObjectBytes, for a revision without storage "auto"',
    ],
  ],
});
