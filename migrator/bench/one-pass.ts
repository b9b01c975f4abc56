/**
 * One large object copied in one pass against two passes, on a running rig (`npm run rig -- start`): the same AES-256-GCM
 * object (BENCH_LARGE_MIB, default 256), copied by copyObject into the new bucket in a child process per run, with
 *   - two passes: hash the plaintext, then GET again, decrypt and upload in parts (multipart, SHA-256 per part);
 *   - one pass: decrypt, hash (SHA-256 + CRC64NVME) and upload as it streams (FULL_OBJECT CRC64NVME, objects/write-large.ts).
 * RGW 16 ignores full-object checksums (the probe never picks one pass there): the run forces the path, to measure
 * its cost on the client; on S3 the checksum is also verified. Each child: wall, CPU (user + sys, GNU time), peak RSS.
 * Rounds alternate (BENCH_ROUNDS, default 3); medians. Part size 8 MiB, 4 in flight (the default copy window).
 * Run: npx tsc -p tsconfig.build.json && node dist/migrator/bench/one-pass.js
 */
import { randomBytes } from 'crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readRigState } from '../src/aws/rig-state';
import { AesGcmCodec, gcmEncryptStream } from '../src/codec/aes-gcm';
import { copyObject } from '../src/migrate/copy-object';
import { largeObjectWrite, PROBE_PREFIX } from '../src/migrate/conditional-write-probe';
import { plaintextStream, rigClient, runMeasured } from './bench-rig';
import { MIB } from '../../workspaces/units';

const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 256) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = 'bench/one-pass/scan.bin';
type Mode = 'one-pass' | 'two-pass';

async function child(mode: Mode, gcmKey: string): Promise<void> {
  const state = readRigState();
  const target = rigClient(state, 'primaryApp');
  await target.send(new DeleteObjectCommand({ Bucket: state.buckets.primary, Key: KEY }));
  const outcome = await copyObject(
    { key: KEY },
    {
      source: { client: rigClient(state, 'legacyApp'), bucket: state.buckets.legacy },
      target: {
        client: target,
        bucket: state.buckets.primary,
        sse: { ServerSideEncryption: 'AES256' },
        partSize: 8 * MIB,
        queueSize: 4,
      },
      codec: new AesGcmCodec([gcmKey], { aad: 'object-key', maxObjectBytes: 2 * LARGE_BYTES }),
      largeObjects: largeObjectWrite({
        key: `${PROBE_PREFIX}bench`,
        put: 'enforced',
        completeMultipartUpload: 'enforced',
        fullObjectChecksum: mode === 'one-pass' ? 'verified' : 'ignored',
        cleanedUp: true,
      }),
    },
    new AbortController().signal,
  );
  if (outcome.state !== 'copied' || outcome.plaintextSize !== LARGE_BYTES) throw new Error(JSON.stringify(outcome));
}

async function main(): Promise<void> {
  const [, , role, mode, gcmKey] = process.argv;
  if (role === 'child') return child(mode as Mode, gcmKey);
  const state = readRigState();
  const key = randomBytes(32).toString('base64');
  console.log(`seeding ${LARGE_BYTES / MIB} MiB (AES-256-GCM) at ${KEY}...`);
  await new Upload({
    client: rigClient(state, 'legacyApp'),
    params: {
      Bucket: state.buckets.legacy,
      Key: KEY,
      Body: plaintextStream(LARGE_BYTES).pipe(gcmEncryptStream(Buffer.from(key, 'base64'), Buffer.from(KEY))),
    },
    partSize: 16 * MIB,
    queueSize: 2,
  }).done();
  const runs: Record<Mode, { seconds: number; cpu: number; rss: number }[]> = { 'one-pass': [], 'two-pass': [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['two-pass', 'one-pass'] as const) {
      const m = await runMeasured(process.execPath, [__filename, 'child', mode, key], process.env, { cpu: true });
      if (m.code !== 0) throw new Error(`${mode}: exit ${m.code}\n${m.out}`);
      runs[mode].push({ seconds: m.seconds, cpu: m.cpuSeconds ?? NaN, rss: m.peakRss ?? NaN });
      console.log(
        `round ${r + 1} ${mode}: ${m.seconds.toFixed(1)} s wall, ${m.cpuSeconds?.toFixed(1)} s CPU, ${((m.peakRss ?? 0) / MIB).toFixed(0)} MiB peak RSS`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['two-pass', 'one-pass'] as const) {
    const rs = runs[mode];
    console.log(
      `median ${mode}: ${median(rs.map((x) => x.seconds)).toFixed(1)} s wall, ${median(rs.map((x) => x.cpu)).toFixed(1)} s CPU, ${(median(rs.map((x) => x.rss)) / MIB).toFixed(0)} MiB peak RSS`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
