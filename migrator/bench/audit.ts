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
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadWorkspace } from '../../workspaces/load';
import { createS3Client } from '../src/aws/clients';
import { createCodec } from '../src/codec';
import { generateFernetKey } from '../src/codec/fernet';
import { Checkpoint } from '../src/migrate/checkpoint';
import { provenanceMetadata } from '../src/migrate/provenance';
import { startRig, stopRig } from '../rig/rig';
import type { RigState } from '../rig/state';
import { gitRevision, machineLine, writeSection } from './benchmarks-md';

const SIZES = (process.env.BENCH_AUDIT_KEYS ?? '5000,50000').split(',').map(Number);
const REPO = path.resolve(__dirname, '..', '..');
const MIB = 1024 * 1024;

async function pool(n: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < n) await job(next++);
  }));
}

interface Measured {
  keys: number;
  mode: string;
  seconds: number;
  peakRssMiB: number;
  passed: boolean;
}

function timeAudit(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ seconds: number; peakKiB: number; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'BENCH %e %M', process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), path.join(REPO, 'migrator/src/cli/audit.ts'), ...args],
      { cwd, env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json'), ...env }, maxBuffer: 256 * MIB },
      (err, stdout, stderr) => {
        const m = /BENCH ([\d.]+) (\d+)/.exec(stderr);
        resolve({ seconds: Number(m?.[1]), peakKiB: Number(m?.[2]), code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
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
  const keyOf = (i: number) => `chats/${String(i % 997).padStart(4, '0')}/photos/${createHash('md5').update(String(i)).digest('hex')}.jpg`;
  const started = Date.now();
  const done: { key: string; size: number; etag: string; sha: string }[] = [];
  await pool(n, 48, async (i) => {
    const k = keyOf(i);
    const plain = randomBytes(64);
    const sha = createHash('sha256').update(plain).digest('hex');
    const token = codec.encrypt(plain, { key: k });
    const put = await s3.legacy.send(new PutObjectCommand({ Bucket: legacyBucket, Key: k, Body: token }));
    const etag = (put.ETag ?? '').replace(/"/g, '');
    const meta = provenanceMetadata({}, { sourceEtag: etag, sourceVersionId: 'null', plaintextSha256: sha, plaintextSize: plain.length, migratedAt: new Date().toISOString() });
    await s3.primary.send(new PutObjectCommand({ Bucket: newBucket, Key: k, Body: plain, Metadata: meta }));
    done.push({ key: k, size: token.length, etag, sha });
  });
  // The migration run starts after the legacy objects were written (they are older than the run, as they must be).
  const runId = cp.startRun();
  done.sort((a, b) => (a.key < b.key ? -1 : 1));
  for (let i = 0; i < done.length; i += 1000) cp.addListedPage(done.slice(i, i + 1000).map(({ key: k, size, etag }) => ({ key: k, size, etag })), i + 1000 >= done.length);
  for (const d of done) cp.record(d.key, { state: 'copied', plaintextSha256: d.sha, plaintextSize: 64 });
  cp.finishRun(runId, 'complete', {});
  cp.close();
  console.log(`populated ${n} keys on each side in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const wsDir = path.join(dir, `ws-${tag}`);
  fs.mkdirSync(wsDir);
  const log = path.join(dir, 'app.log');
  fs.writeFileSync(log, '');
  const { file: _file, ...json } = ws;
  json.legacy.bucket = legacyBucket;
  json.primary.bucket = newBucket;
  json.migration.credentials = 'static';
  json.app = { localLogFile: log };
  fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify(json));
  return { wsDir, checkpointFile };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-bench-audit-'));
  const statePath = path.join(dir, 'state.json');
  const results: Measured[] = [];
  try {
    const { state } = await startRig({ workspace: loadWorkspace('local'), statePath, dir: path.join(dir, 'rig') });
    const keysOf = (p: RigState['principals']['legacyAdmin']) => ({ accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey });
    const client = (p: RigState['principals']['legacyAdmin']) =>
      createS3Client({ endpoint: state.endpoint, region: state.region, s3Compatible: true, credentials: keysOf(p), transport: { maxSockets: 64 } });
    const s3 = { legacy: client(state.principals.legacyAdmin), primary: client(state.principals.primaryAdmin) };
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
      const modes: [string, string[]][] = [['metadata (HEAD per key)', []]];
      if (i === 0) modes.push(['--deep (both sides re-read, legacy decrypted)', ['--deep']]);
      for (const [mode, extra] of modes) {
        const run = await timeAudit(['--env', 'local', '--checkpoint', checkpointFile, '--report', path.join(dir, `report-${i}-${extra.length}`), ...extra], { ...env, BUCKETMOVE_WORKSPACES_DIR: wsDir }, dir);
        if (run.code !== 0) throw new Error(`the audit of ${n} keys failed (exit ${run.code}): ${run.stdout}${run.stderr.slice(-2000)}`);
        results.push({ keys: n, mode, seconds: run.seconds, peakRssMiB: run.peakKiB / 1024, passed: run.code === 0 });
        console.log(`${n} keys, ${mode}: ${run.seconds.toFixed(1)} s, peak RSS ${(run.peakKiB / 1024).toFixed(0)} MiB`);
      }
    }
    s3.legacy.destroy();
    s3.primary.destroy();
  } finally {
    await stopRig(statePath).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeSection(
    'audit',
    [
      '## Audit',
      '',
      `Command: \`npm run bench:audit\` (BENCH_AUDIT_KEYS=${SIZES.join(',')}): for each size a fresh bucket pair on a local RGW rig with N legacy objects`,
      '(Fernet tokens of 64-byte photos) and their N migrated copies with provenance, a checkpoint recording them, then',
      '`npm run audit -- --env local` as a child process under `/usr/bin/time` (wall time and peak RSS of the whole process,',
      'ts-node included), 32 HEADs in flight. Machine: ' + machineLine() + '.',
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      '| keys | mode | wall time | keys/s | peak RSS |',
      '|---:|---|---:|---:|---:|',
      ...results.map((r) => `| ${r.keys} | ${r.mode} | ${r.seconds.toFixed(1)} s | ${Math.round(r.keys / r.seconds)} | ${r.peakRssMiB.toFixed(0)} MiB |`),
      '',
      'Memory holds one listing page per side, one checkpoint batch, the keys in flight and the capped findings, so the',
      'peak RSS does not grow with the number of keys; the time is the HEADs (one per key) against one RGW on 2 cores.',
    ].join('\n'),
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
