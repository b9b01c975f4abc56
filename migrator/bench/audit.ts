/**
 * The audit's time and memory against the number of keys: for each size, a fresh pair of buckets on a local RGW rig
 * (its own, started and stopped here) holding N legacy objects (Fernet tokens of 64-byte photos) and their N migrated
 * copies (with provenance metadata), a checkpoint recording them, then `npm run audit` run as the operator runs it,
 * under /usr/bin/time for its peak RSS. Metadata mode on every size; --deep on the smallest.
 * Run: npm run bench:audit (sizes: BENCH_AUDIT_KEYS, default 5000,50000)
 */
import { execFile } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadWorkspace, repoRoot } from '../../workspaces/load';
import { openCheckpointSet } from '../src/audit/checkpoint-set';
import { fallbackCounter } from '../src/audit/fallback-hits';
import { runAudit } from '../src/audit/run-audit';
import { createCodec } from '../src/codec';
import { generateFernetKey } from '../src/codec/fernet';
import { Checkpoint } from '../src/migrate/checkpoint';
import { provenanceMetadata } from '../src/objects/provenance';
import { StoreCounters } from '../src/store/counters';
import { heartbeatFields } from '../src/store/fallback-events';
import { gitRevision, machineLine, runBench, writeSection } from './benchmarks-md';
import { rigClient, withBenchRig } from './bench-rig';
import { MIB } from '../../workspaces/units';

const SIZES = (process.env.BENCH_AUDIT_KEYS ?? '5000,50000').split(',').map(Number);
/** The audit CLI as `npm run audit` runs it: the built JavaScript (npm run bench:audit builds first). */
const AUDIT_JS = path.join(repoRoot(), 'dist/migrator/src/cli/audit.js');

async function pool(n: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

interface Measured {
  keys: number;
  mode: string;
  seconds: number;
  peakRssMiB: number;
  passed: boolean;
}

function timeAudit(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ seconds: number; peakKiB: number; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'BENCH %e %M', process.execPath, AUDIT_JS, ...args],
      { cwd, env: { ...process.env, ...env }, maxBuffer: 256 * MIB },
      (err, stdout, stderr) => {
        const m = /BENCH ([\d.]+) (\d+)/.exec(stderr);
        resolve({
          seconds: Number(m?.[1]),
          peakKiB: Number(m?.[2]),
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

async function populate(s3: { legacy: S3Client; primary: S3Client }, n: number, dir: string, tag: string, key: string) {
  const ws = loadWorkspace('local');
  const legacyBucket = `bench-${tag}-old`;
  const newBucket = `bench-${tag}-new`;
  await s3.legacy.send(new CreateBucketCommand({ Bucket: legacyBucket }));
  await s3.primary.send(new CreateBucketCommand({ Bucket: newBucket }));
  const codec = createCodec(ws.codec, [key], path.dirname(ws.file));
  const checkpointFile = path.join(dir, `${tag}.sqlite`);
  const cp = Checkpoint.open(checkpointFile, { env: 'local', legacyBucket, newBucket, prefix: '' });
  const keyOf = (i: number) =>
    `chats/${String(i % 997).padStart(4, '0')}/photos/${createHash('md5').update(String(i)).digest('hex')}.jpg`;
  const started = Date.now();
  const done: { key: string; size: number; etag: string; sha: string }[] = [];
  await pool(n, 48, async (i) => {
    const k = keyOf(i);
    const plain = randomBytes(64);
    const sha = createHash('sha256').update(plain).digest('hex');
    const token = codec.encrypt(plain, { key: k });
    const put = await s3.legacy.send(new PutObjectCommand({ Bucket: legacyBucket, Key: k, Body: token }));
    const etag = (put.ETag ?? '').replace(/"/g, '');
    const meta = provenanceMetadata(
      {},
      {
        sourceEtag: etag,
        sourceVersionId: 'null',
        plaintextSha256: sha,
        plaintextSize: plain.length,
        migratedAt: new Date().toISOString(),
      },
    );
    await s3.primary.send(new PutObjectCommand({ Bucket: newBucket, Key: k, Body: plain, Metadata: meta }));
    done.push({ key: k, size: token.length, etag, sha });
  });
  // The migration run starts after the legacy objects were written (they are older than the run, as they must be).
  const runId = cp.startRun();
  done.sort((a, b) => (a.key < b.key ? -1 : 1));
  for (let i = 0; i < done.length; i += 1000)
    cp.addListedPage(
      done.slice(i, i + 1000).map(({ key: k, size, etag }) => ({ key: k, size, etag })),
      i + 1000 >= done.length,
    );
  for (const d of done) cp.record(d.key, { state: 'copied', plaintextSha256: d.sha, plaintextSize: 64 });
  cp.finishRun(runId, 'complete', {});
  cp.close();
  console.log(`populated ${n} keys on each side in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const wsDir = path.join(dir, `ws-${tag}`);
  fs.mkdirSync(wsDir);
  // The app's log: no fallback hit, and a store beating every 10 minutes from 8 days ago to 6 hours ahead, so every
  // audit below (the default --since 7d) finds its window covered (the audit counts only the beats before its end).
  const log = path.join(dir, 'app.log');
  const beats: string[] = [];
  const zero = new StoreCounters().snapshot();
  for (let t = Date.now() - 8 * 86_400_000, beat = 1; t < Date.now() + 6 * 3_600_000; t += 600_000, beat++) {
    const fields = heartbeatFields({
      instance: `${process.pid}-bench0000`,
      mode: 'dual-read',
      intervalMs: 600_000,
      periodMs: 600_000,
      beat,
      counts: zero,
    });
    beats.push(JSON.stringify({ level: 'info', time: new Date(t).toISOString(), ...fields, msg: 'store heartbeat' }));
  }
  fs.writeFileSync(log, `${beats.join('\n')}\n`);
  const { file: _file, ...json } = ws;
  json.legacy.bucket = legacyBucket;
  json.primary.bucket = newBucket;
  json.migration.credentials = 'static';
  json.app = { localLogFile: log };
  fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify(json));
  return { wsDir, checkpointFile };
}

/**
 * The memory claim, measured directly: the audit run in this process with a full GC every 250 ms, V8's used heap read
 * after each; what is live stays flat while the keys go by.
 */
async function liveHeap(
  wsDir: string,
  checkpointFile: string,
  s3: { legacy: S3Client; primary: S3Client },
  log: string,
): Promise<{ firstMiB: number; maxMiB: number }> {
  v8.setFlagsFromString('--expose_gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const ws = loadWorkspace('local', wsDir);
  const checkpoints = openCheckpointSet(ws, [checkpointFile]);
  const samples: number[] = [];
  const sample = () => {
    gc();
    samples.push(process.memoryUsage().heapUsed / MIB);
  };
  sample();
  const timer = setInterval(sample, 250);
  try {
    const now = new Date();
    const report = await runAudit(
      {
        ws,
        legacy: { client: s3.legacy, bucket: ws.legacy.bucket },
        current: { client: s3.primary, bucket: ws.primary.bucket },
        checkpoints,
        countFallbackHits: fallbackCounter({ kind: 'file', location: log }, { timeoutMs: 1000 }),
      },
      {
        window: { start: new Date(now.getTime() - 86_400_000), end: now },
        deep: false,
        concurrency: 32,
        deepConcurrency: 16,
        deepMemoryBytes: 128 * MIB,
        maxListed: 1000,
      },
    );
    if (!report.passed) throw new Error(`the in-process audit failed: ${report.summary}`);
  } finally {
    clearInterval(timer);
    checkpoints.close();
  }
  return { firstMiB: samples[0], maxMiB: Math.max(...samples) };
}

async function main(): Promise<void> {
  const results: Measured[] = [];
  const heaps: { keys: number; firstMiB: number; maxMiB: number }[] = [];
  await withBenchRig('bucketmove-bench-audit-', async ({ state, statePath, dir }) => {
    const s3 = {
      legacy: rigClient(state, 'legacyAdmin', { maxSockets: 64 }),
      primary: rigClient(state, 'primaryAdmin', { maxSockets: 64 }),
    };
    const fernetKey = generateFernetKey();
    const env = {
      BUCKETMOVE_RIG_STATE: statePath,
      LEGACY_AWS_ACCESS_KEY_ID: state.principals.legacyAdmin.accessKeyId,
      LEGACY_AWS_SECRET_ACCESS_KEY: state.principals.legacyAdmin.secretAccessKey,
      AWS_ACCESS_KEY_ID: state.principals.primaryAdmin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: state.principals.primaryAdmin.secretAccessKey,
      LEGACY_FERNET_KEYS: fernetKey,
    };
    for (const [i, n] of SIZES.entries()) {
      const { wsDir, checkpointFile } = await populate(s3, n, dir, `k${i}`, fernetKey);
      const modes: [string, string[], NodeJS.ProcessEnv][] = [['metadata (HEAD per key)', [], {}]];
      if (i === 0) modes.push(['--deep (both sides re-read, legacy decrypted)', ['--deep'], {}]);
      for (const [j, [mode, extra, extraEnv]] of modes.entries()) {
        const run = await timeAudit(
          ['--env', 'local', '--checkpoint', checkpointFile, '--report', path.join(dir, `report-${i}-${j}`), ...extra],
          { ...env, ...extraEnv, BUCKETMOVE_WORKSPACES_DIR: wsDir },
          dir,
        );
        if (run.code !== 0)
          throw new Error(`the audit of ${n} keys failed (exit ${run.code}): ${run.stdout}${run.stderr.slice(-2000)}`);
        results.push({ keys: n, mode, seconds: run.seconds, peakRssMiB: run.peakKiB / 1024, passed: run.code === 0 });
        console.log(`${n} keys, ${mode}: ${run.seconds.toFixed(1)} s, peak RSS ${(run.peakKiB / 1024).toFixed(0)} MiB`);
      }
      const heap = await liveHeap(wsDir, checkpointFile, s3, path.join(dir, 'app.log'));
      heaps.push({ keys: n, ...heap });
      console.log(
        `${n} keys, in-process: live heap after GC ${heap.firstMiB.toFixed(1)} MiB at the start, at most ${heap.maxMiB.toFixed(1)} MiB`,
      );
    }
    s3.legacy.destroy();
    s3.primary.destroy();
  });
  writeSection(
    'audit',
    [
      '## Audit',
      '',
      `Command: \`npm run bench:audit\` (BENCH_AUDIT_KEYS=${SIZES.join(',')}): for each size a fresh bucket pair on a local RGW rig with N legacy objects`,
      '(Fernet tokens of 64-byte photos) and their N migrated copies with provenance, a checkpoint recording them, then',
      '`npm run audit -- --env local` (the built JavaScript) as a child process under `/usr/bin/time` (wall time and peak',
      'RSS of the whole process), 32 HEADs in flight. Machine: ' + machineLine() + '.',
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      '| keys | mode | wall time | keys/s | peak RSS |',
      '|---:|---|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.keys} | ${r.mode} | ${r.seconds.toFixed(1)} s | ${Math.round(r.keys / r.seconds)} | ${r.peakRssMiB.toFixed(0)} MiB |`,
      ),
      '',
      'Live heap (the audit in the bench process, a full GC every 250 ms, V8 heapUsed after each):',
      '',
      '| keys | heap at the start | largest heap during the audit |',
      '|---:|---:|---:|',
      ...heaps.map((h) => `| ${h.keys} | ${h.firstMiB.toFixed(1)} MiB | ${h.maxMiB.toFixed(1)} MiB |`),
      '',
      'Memory holds one listing page per side, one checkpoint batch, the keys in flight and the capped findings: the live',
      'heap stays flat whatever the number of keys; what peak RSS gains with more keys is V8 collecting garbage lazily.',
      'The time is one HEAD per key (32 in flight) against one RGW sharing the 2 cores with the audit.',
    ].join('\n'),
  );
}

runBench('audit', main, {
  describe:
    "The audit's time and peak RSS against the number of keys (metadata mode; --deep on the smallest), on a local rig of its own",
  env: [['BENCH_AUDIT_KEYS', 'comma-separated bucket sizes (5000,50000)']],
});
