/**
 * One large object copied in one pass against two passes, on a local rig of its own: the same object (BENCH_LARGE_MIB,
 * default 256), once AES-256-GCM and once Fernet (base64url text, as the legacy app stores it), copied by copyObject
 * into the new bucket in a child process per run, with
 *   - two passes: hash the plaintext, then GET again, decrypt and upload in parts (multipart, SHA-256 per part);
 *   - one pass: decrypt, hash (SHA-256 + CRC32) and upload as it streams (FULL_OBJECT CRC32, objects/write-large.ts).
 * and two peers: a raw multipart PUT of as many bytes made in memory (the rate issue 14's target names), and the GCM
 * object's stored bytes GET piped into the same multipart upload (no decrypt, no hash: the floor of any copy here).
 * RGW 16 ignores full-object checksums (the probe never picks one pass there): the run forces each path, to measure
 * its cost on the client; on S3 the checksum is also verified. Each child: wall, CPU (user + sys, GNU time), peak RSS.
 * Rounds alternate (BENCH_ROUNDS, default 3); medians. Part size 8 MiB, 4 in flight (the default copy window).
 * Run: npm run bench:one-pass (writes its section of BENCHMARKS.md).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'stream';
import { Upload } from '@aws-sdk/lib-storage';
import { loadWorkspace } from '../../workspaces/load';
import { readRigState } from '../src/aws/rig-state';
import type { Codec } from '../src/codec/codec';
import { AesGcmCodec, gcmEncryptStream } from '../src/codec/aes-gcm';
import { FernetCodec, fernetEncryptStream, generateFernetKey, parseFernetKeys } from '../src/codec/fernet';
import { copyObject } from '../src/migrate/copy-object';
import { largeObjectWrite, PROBE_PREFIX } from '../src/migrate/conditional-write-probe';
import { startRig, stopRig } from '../rig/rig';
import { benchTempDir, gitRevision, machineLine, onInterrupt, runBench, writeSection } from './benchmarks-md';
import { BENCH_MEMSTORE_BYTES, checkMemstoreFits, plaintextStream, rigClient, runMeasured } from './bench-rig';
import { MIB } from '../../workspaces/units';

const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 256) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Set in a child's environment: that process copies once and exits (it does not go through runBench). */
const CHILD_ENV = 'BUCKETMOVE_BENCH_ONE_PASS_CHILD';
const CODECS = ['aes-256-gcm', 'fernet'] as const;
const MODES = ['two-pass', 'one-pass'] as const;
type CodecName = (typeof CODECS)[number];
type Mode = (typeof MODES)[number];

const keyOf = (codec: CodecName) => `bench/one-pass/${codec}/scan.bin`;

function codecOf(name: CodecName, key: string): Codec {
  return name === 'fernet'
    ? new FernetCodec([key], { storage: 'base64url-text', maxObjectBytes: 2 * LARGE_BYTES })
    : new AesGcmCodec([key], { aad: 'object-key', maxObjectBytes: 2 * LARGE_BYTES });
}

/** The peer: the same number of plaintext bytes PUT in parts as lib-storage does it (8 MiB, 4 in flight). */
const RAW_PUT = 'raw multipart PUT';
const RAW_PUT_ROW = `${RAW_PUT} (lib-storage, 8 MiB parts, 4 in flight, no GET, no decrypt)`;

/**
 * The floor of any copy on this rig: the AES-256-GCM object's stored bytes, GET piped into the same multipart upload
 * (no decrypt, no hash). Any copy reads the object and writes it; here the server's GET shares the cores too.
 */
const RAW_COPY = 'raw GET piped into a multipart PUT';
const RAW_COPY_ROW = `${RAW_COPY} (lib-storage, 8 MiB parts, 4 in flight, no decrypt, no hash)`;

/** What a child process does: a raw upload (from memory, or of `from`'s stored bytes), or one copy by a path. */
type ChildArgs = { raw: true; from?: string } | { codec: CodecName; mode: Mode; key: string };

async function rawPut(from?: string): Promise<void> {
  const state = readRigState();
  const target = rigClient(state, 'primaryApp');
  const body =
    from === undefined
      ? plaintextStream(LARGE_BYTES)
      : ((await rigClient(state, 'legacyApp').send(new GetObjectCommand({ Bucket: state.buckets.legacy, Key: from })))
          .Body as Readable);
  await new Upload({
    client: target,
    params: { Bucket: state.buckets.primary, Key: 'bench/one-pass/raw.bin', Body: body },
    partSize: 8 * MIB,
    queueSize: 4,
  }).done();
}

/** The child: one copy of the codec's object by the mode's path, into a key cleared first. */
async function child(codec: CodecName, mode: Mode, key: string): Promise<void> {
  const state = readRigState();
  const target = rigClient(state, 'primaryApp');
  const objectKey = keyOf(codec);
  await target.send(new DeleteObjectCommand({ Bucket: state.buckets.primary, Key: objectKey }));
  const outcome = await copyObject(
    { key: objectKey },
    {
      source: { client: rigClient(state, 'legacyApp'), bucket: state.buckets.legacy },
      target: {
        client: target,
        bucket: state.buckets.primary,
        sse: { ServerSideEncryption: 'AES256' },
        partSize: 8 * MIB,
        queueSize: 4,
      },
      codec: codecOf(codec, key),
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

interface Measured {
  readonly seconds: number;
  readonly cpu: number;
  readonly rss: number;
}

async function main(): Promise<void> {
  // Every write stays in memstore: the two legacy objects (a Fernet token is 4/3 of its plaintext) and, each round, the
  // raw PUT, the floor's copy and the four copies.
  checkMemstoreFits(LARGE_BYTES * (1 + 4 / 3 + 6 * ROUNDS), 'BENCH_LARGE_MIB or BENCH_ROUNDS');
  const dir = benchTempDir('bucketmove-bench-one-pass-');
  const statePath = path.join(dir, 'state.json');
  const loadAtStart = os.loadavg()[0];
  const runs = new Map<string, Measured[]>();
  try {
    console.error('starting a rig...');
    fs.mkdirSync(path.join(dir, 'rig'));
    onInterrupt(() => stopRig(statePath));
    const { state } = await startRig({
      workspace: loadWorkspace('local'),
      statePath,
      dir: path.join(dir, 'rig'),
      memstoreBytes: BENCH_MEMSTORE_BYTES,
      ownerPid: process.pid,
    });
    const keys: Record<CodecName, string> = {
      'aes-256-gcm': randomBytes(32).toString('base64'),
      fernet: generateFernetKey(),
    };
    const legacy = rigClient(state, 'legacyApp');
    for (const codec of CODECS) {
      console.error(`seeding ${LARGE_BYTES / MIB} MiB (${codec}) at ${keyOf(codec)}...`);
      const encrypt =
        codec === 'fernet'
          ? fernetEncryptStream(parseFernetKeys([keys.fernet])[0], 'base64url-text')
          : gcmEncryptStream(Buffer.from(keys[codec], 'base64'), Buffer.from(keyOf(codec)));
      await new Upload({
        client: legacy,
        params: { Bucket: state.buckets.legacy, Key: keyOf(codec), Body: plaintextStream(LARGE_BYTES).pipe(encrypt) },
        partSize: 16 * MIB,
        queueSize: 2,
      }).done();
    }
    legacy.destroy();
    /** Each row, in the order a round runs them, and what its child process is told to do. */
    const rowsToRun: Array<[string, ChildArgs]> = [
      [RAW_PUT, { raw: true }],
      [RAW_COPY, { raw: true, from: keyOf('aes-256-gcm') }],
      ...CODECS.flatMap((codec) =>
        MODES.map((mode): [string, ChildArgs] => [`${codec} ${mode}`, { codec, mode, key: keys[codec] }]),
      ),
    ];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [row, args] of rowsToRun) {
        const env = { ...process.env, BUCKETMOVE_RIG_STATE: statePath, [CHILD_ENV]: JSON.stringify(args) };
        const m = await runMeasured(process.execPath, [__filename], env, { cpu: true });
        if (m.code !== 0) throw new Error(`${row}: exit ${m.code}: ${m.out.trim().split('\n').slice(-3).join(' | ')}`);
        runs.set(row, [
          ...(runs.get(row) ?? []),
          { seconds: m.seconds, cpu: m.cpuSeconds ?? NaN, rss: m.peakRss ?? NaN },
        ]);
        console.error(
          `round ${r + 1} ${row}: ${m.seconds.toFixed(1)} s wall, ${m.cpuSeconds?.toFixed(1)} s CPU, ${((m.peakRss ?? 0) / MIB).toFixed(0)} MiB peak RSS`,
        );
      }
    }
  } finally {
    await stopRig(statePath);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const med = (row: string) => {
    const rs = runs.get(row)!;
    return {
      seconds: median(rs.map((x) => x.seconds)),
      cpu: median(rs.map((x) => x.cpu)),
      rss: median(rs.map((x) => x.rss)),
    };
  };
  const mbps = (s: number) => (LARGE_BYTES / 1e6 / s).toFixed(1);
  const rawRow = (row: string, label: string) => {
    const m = med(row);
    const rounds = runs.get(row)!;
    return `| - | ${label} | ${mbps(m.seconds)} | ${m.seconds.toFixed(1)} s | ${m.cpu.toFixed(1)} s | ${(m.rss / MIB).toFixed(0)} MiB | ${rounds.map((x) => x.seconds.toFixed(1)).join(' / ')} |`;
  };
  const raw = med(RAW_PUT);
  const floor = med(RAW_COPY);
  const table = CODECS.flatMap((codec) =>
    MODES.map((mode) => {
      const m = med(`${codec} ${mode}`);
      const rounds = runs.get(`${codec} ${mode}`)!;
      return `| ${codec} | ${mode === 'one-pass' ? 'one pass' : 'two passes'} | ${mbps(m.seconds)} | ${m.seconds.toFixed(1)} s | ${m.cpu.toFixed(1)} s | ${(m.rss / MIB).toFixed(0)} MiB | ${rounds.map((x) => x.seconds.toFixed(1)).join(' / ')} |`;
    }),
  );
  const ratios = CODECS.map((codec) => {
    const one = med(`${codec} one-pass`);
    const two = med(`${codec} two-pass`);
    return `${codec}: one pass at ${(two.seconds / one.seconds).toFixed(2)}x the rate of two, with ${((one.cpu / two.cpu) * 100).toFixed(0)}% of their client CPU; at ${(raw.seconds / one.seconds).toFixed(2)}x the raw multipart PUT's rate (two passes: ${(raw.seconds / two.seconds).toFixed(2)}x) and ${(floor.seconds / one.seconds).toFixed(2)}x the raw GET piped into it (two passes: ${(floor.seconds / two.seconds).toFixed(2)}x).`;
  });
  const rawRows = [rawRow(RAW_PUT, RAW_PUT_ROW), rawRow(RAW_COPY, RAW_COPY_ROW)];
  const floorLine = `The floor of any copy here, the stored bytes GET piped into the same multipart upload with nothing done to them, runs at ${(raw.seconds / floor.seconds).toFixed(2)}x the raw multipart PUT's rate: on this rig the server's GET shares the 2 cores with the PUT, so that ratio bounds what any copy can reach against the raw PUT.`;
  for (const l of [...rawRows, ...table, ...ratios, floorLine]) console.error(l);
  writeSection(
    'one-pass',
    [
      '## One large object: one pass against two',
      '',
      `Command: \`BENCH_LARGE_MIB=${LARGE_BYTES / MIB} BENCH_ROUNDS=${ROUNDS} npm run bench:one-pass\` (a local rig of its own).`,
      `Machine: ${machineLine()}; the S3 server (Ceph RGW 16, memstore) runs on the same cores as the client;`,
      `1-minute load average ${loadAtStart.toFixed(1)} when the run started (other processes included).`,
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      `One ${LARGE_BYTES / MIB} MiB object, AES-256-GCM and Fernet (base64url text), copied by \`copyObject\` into the new`,
      `bucket, a child process per copy, ${ROUNDS} alternating rounds, medians; 8 MiB parts, 4 in flight. Two passes:`,
      'hash, then GET again, decrypt and upload (SHA-256 per part). One pass: decrypt, hash (SHA-256 + CRC32) and upload',
      'as it streams (FULL_OBJECT CRC32: the whole value at completion, each part its own; both computed natively by',
      "Node's zlib.crc32). RGW 16 ignores full-object checksums, so the bench forces each path: it measures the client's",
      "cost and the rig's wall time, not S3's check. CPU and RSS are the client process's (GNU time); MB/s counts plaintext.",
      'The raw multipart PUT uploads as many plaintext bytes, made in memory, in the same alternating rounds: the rate',
      "issue 14's large-object target compares with (the path AWS takes, where the probe finds the checksum verified).",
      "The raw GET piped into a multipart PUT moves the AES-256-GCM object's stored bytes unchanged, nothing else.",
      '',
      '| codec | path | MB/s | wall (median) | client CPU user+sys | peak RSS | wall per round |',
      '|---|---|---:|---:|---:|---:|---|',
      ...rawRows,
      ...table,
      '',
      ...ratios,
      '',
      floorLine,
    ].join('\n'),
  );
}

const childArgs = process.env[CHILD_ENV];
if (childArgs) {
  const a = JSON.parse(childArgs) as ChildArgs;
  ('raw' in a ? rawPut(a.from) : child(a.codec, a.mode, a.key)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
} else {
  runBench('one-pass', main, {
    describe:
      'One large object (AES-256-GCM and Fernet) copied in one pass (FULL_OBJECT CRC32) against two passes, a raw multipart PUT of as many bytes and a raw GET piped into one, forced on a local rig of its own: wall, client CPU and peak RSS, medians of alternating rounds',
    env: [
      ['BENCH_LARGE_MIB', 'the object, MiB (256)'],
      ['BENCH_ROUNDS', 'rounds per path and codec (3)'],
    ],
  });
}
